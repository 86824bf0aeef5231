"""What a run executes, and where: the argument list, the clean environment and the text, built from a customer
step, its customer's cluster and the step's resolved variables. Nothing is ever interpolated into a shell command:
a bash step's text is a file the shell reads, a SQL step's text is psql's stdin, and every other value is one
argument or one environment variable.

- bash: `bash --noprofile --norc step.sh` in a working directory of the run's own, with only PATH (its bin/, where
  `kubectl` is the configured one, then /usr/local/bin:/usr/bin:/bin), HOME (that directory), LANG, KUBECONFIG,
  KUBE_CONTEXT, NAMESPACE, CUSTOMER, CLUSTER and the step's variables in its environment. Nothing of Rollcall's
  own environment (no DJANGO_SECRET_KEY, no DATABASE_URL) reaches it.
- SQL: `kubectl --context C -n NAMESPACE exec -i DB_TARGET -- psql -X -v ON_ERROR_STOP=1 -d DB_NAME -U DB_USER`,
  with the text on stdin; DB_TARGET, DB_NAME and DB_USER are the customer's (or its cluster's, or the release's)
  variables, and a step without them can't run, as with any unresolved variable.

KUBECONFIG names a small file of the run's own first (it sets only `current-context`), then the cluster's
kubeconfig: kubectl takes the current context from the first file that sets it, so every `kubectl` in a script,
and the release's context guard, talk to the customer's cluster's context without the script naming it.
"""

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from core.errors import DomainError
from steps.choices import StepType
from steps.rendering import CONTEXT_VARIABLE, step_text
from variables.selectors import displayed_values, resolved_values, sensitive_names

RUNNABLE_TYPES = (StepType.BASH, StepType.SQL)
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
SQL_VARIABLES = ("DB_TARGET", "DB_NAME", "DB_USER")
# Set by Rollcall: a variable of the same name does not replace them.
RESERVED_NAMES = frozenset(
    {"PATH", "HOME", "LANG", "KUBECONFIG", "KUBE_CONTEXT", "NAMESPACE", "CUSTOMER", "CLUSTER", "PWD", "SHELL"}
)
# A sensitive value shorter than this is not looked for in the output (it would mask every "a" or "1").
SHORTEST_MASKED = 4
SCRIPT_NAME = "step.sh"
CONTEXT_FILE = "rollcall-context.yaml"
# A kubectl target (pod, deploy/name…), a database or a user name: a value that starts with "-" would be an option.
KUBE_TARGET = re.compile(r"[a-z0-9]([a-z0-9./-]{0,251}[a-z0-9])?")
PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}")
CONTEXT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@/-]{0,252}")

NOT_RUNNABLE = "{step} is a {type} step: only bash and SQL steps can run; carry it out by hand."
NO_KUBECTL = "kubectl was not found on the worker's PATH: install it, or set ROLLCALL_KUBECTL to its path."
NO_KUBECONFIG = "Cluster {cluster} has no kubeconfig path: set it on the cluster before running its steps."
BAD_VALUE = "{name} for {customer} is {value!r}: {why}"


def kubectl_path() -> str | None:
    """ROLLCALL_KUBECTL when set (it must be an executable file), otherwise kubectl on the PATH."""
    configured = settings.ROLLCALL_KUBECTL
    if configured:
        return configured if os.path.isfile(configured) and os.access(configured, os.X_OK) else None
    return shutil.which("kubectl")


@dataclass(frozen=True)
class Plan:
    """Everything one run needs, built when it is started and again by the worker just before it runs."""

    argv: tuple[str, ...]
    env: dict[str, str]
    kubectl: str
    text: str  # the exact text, values in clear: bash's script file or psql's stdin; never stored
    shown_text: str  # the same with sensitive values masked: what the confirmation shows and the run keeps
    sha256: str
    secrets: tuple[str, ...]  # the sensitive values in clear, masked in the output
    context: str
    namespace: str
    cluster_name: str
    missing: tuple[str, ...]  # variables with no value: the run can't start

    @property
    def is_sql(self) -> bool:
        return self.argv[0] != "bash"


def _checked(pattern: re.Pattern, name: str, value: str, *, customer: str, why: str) -> str:
    if not pattern.fullmatch(value):
        raise DomainError(BAD_VALUE.format(name=name, customer=customer, value=value[:80], why=why))
    return value


def plan(step) -> Plan:
    """The plan of `step` (with its release, customer and cluster loaded) for its customer. Refuses (DomainError)
    a step that can't run: a text step, a cluster without a kubeconfig, no kubectl, a value that would be an option."""
    customer, release = step.customer, step.release
    cluster = customer.cluster
    if step.type not in RUNNABLE_TYPES:
        raise DomainError(NOT_RUNNABLE.format(step=step.name, type=step.get_type_display()))
    if not cluster.kubeconfig_path:
        raise DomainError(NO_KUBECONFIG.format(cluster=cluster.name))
    kubectl = kubectl_path()
    if kubectl is None:
        raise DomainError(NO_KUBECTL)
    values = resolved_values(customer, release)
    clear = step_text(step, values)
    shown = step_text(step, displayed_values(customer, release))
    sensitive = sensitive_names(customer, release)
    used = set(step.variables)
    context = _checked(
        CONTEXT_NAME,
        CONTEXT_VARIABLE,
        values.get(CONTEXT_VARIABLE) or cluster.name,
        customer=customer.name,
        why="a kubectl context name is letters, digits and . _ : @ / -, not starting with -.",
    )
    missing = list(clear.missing)
    env = {
        "LANG": "C.UTF-8",
        "KUBE_CONTEXT": context,
        "NAMESPACE": customer.namespace,
        "CUSTOMER": customer.name,
        "CLUSTER": cluster.name,
    }
    for name, value in values.items():
        # A sensitive value goes only to the step that names it; plain values go to every step.
        if name not in RESERVED_NAMES and (name not in sensitive or name in used) and "\x00" not in value:
            env[name] = value
    if step.type == StepType.SQL:
        missing += [name for name in SQL_VARIABLES if not values.get(name)]
        argv = (kubectl, "--context", context, "-n", customer.namespace, "exec", "-i")
        if not missing:
            target = _checked(
                KUBE_TARGET,
                "DB_TARGET",
                values["DB_TARGET"],
                customer=customer.name,
                why="name a pod or a workload (e.g. deploy/postgres): lower-case letters, digits, - . /.",
            )
            database, user = (
                _checked(PLAIN_NAME, name, values[name], customer=customer.name, why="letters, digits and _ . @ -.")
                for name in ("DB_NAME", "DB_USER")
            )
            argv += (target, "--", "psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", database, "-U", user)
    else:
        argv = ("bash", "--noprofile", "--norc", SCRIPT_NAME)
    secrets = tuple(
        sorted(
            {values[name] for name in sensitive if name in values and len(values[name]) >= SHORTEST_MASKED},
            key=len,
            reverse=True,
        )
    )
    return Plan(
        argv=argv,
        env=env,
        kubectl=kubectl,
        text=clear.text,
        shown_text=shown.text,
        sha256=clear.sha256,
        secrets=secrets,
        context=context,
        namespace=customer.namespace,
        cluster_name=cluster.name,
        missing=tuple(sorted(set(missing))),
    )


def prepare(plan_: Plan, *, workdir: Path, kubeconfig: str) -> tuple[list[str], dict[str, str], bytes | None]:
    """Write the run's files into its working directory; the argument list, environment and stdin to start it with.
    `kubeconfig` is the cluster's kubeconfig path."""
    (workdir / CONTEXT_FILE).write_text(
        f"apiVersion: v1\nkind: Config\npreferences: {{}}\ncurrent-context: {_yaml_string(plan_.context)}\n"
    )
    # `kubectl` in a script is the configured one, whatever its file is called and whatever else is on the PATH.
    (workdir / "bin").mkdir()
    (workdir / "bin" / "kubectl").symlink_to(plan_.kubectl)
    env = dict(
        plan_.env,
        PATH=f"{workdir / 'bin'}{os.pathsep}{SAFE_PATH}",
        HOME=str(workdir),
        KUBECONFIG=f"{workdir / CONTEXT_FILE}{os.pathsep}{kubeconfig}",
    )
    if plan_.is_sql:
        return list(plan_.argv), env, plan_.text.encode()
    (workdir / SCRIPT_NAME).write_text(plan_.text)
    bash = shutil.which("bash", path=SAFE_PATH) or "/bin/bash"
    return [bash, *plan_.argv[1:]], env, None


def _yaml_string(value: str) -> str:
    """A double-quoted YAML scalar (the context name is checked against CONTEXT_NAME, so this is plain)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
