// Live updates: poll for what changed since the page was drawn and swap it in (issue 9).
