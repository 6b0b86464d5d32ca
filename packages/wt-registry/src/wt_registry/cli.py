"""wt-registry: the MLflow model registry for WildTrain models: register, alias, promote, list, show, lineage, pull."""

from wt_core.cli import main_for, version_command

from wt_registry import __version__
from wt_registry.aliases import alias, promote
from wt_registry.inspect_ import lineage, list_, show
from wt_registry.pulling import pull
from wt_registry.registration import register

COMMANDS = {
    "register": register,
    "alias": alias,
    "promote": promote,
    "list": list_,
    "show": show,
    "lineage": lineage,
    "pull": pull,
    "version": version_command("wt-registry", __version__),
}

main = main_for("wt-registry", __doc__, COMMANDS)
