"""wt-registry: the MLflow model registry for WildTrain models: register, alias, promote, list, show, lineage, pull."""

from wt_core.cli import Commands, main_for, version_command

from wt_registry import __version__

COMMANDS: Commands = {
    "register": "wt_registry.registration:register",
    "alias": "wt_registry.aliases:alias",
    "promote": "wt_registry.aliases:promote",
    "list": "wt_registry.inspect_:list_",
    "show": "wt_registry.inspect_:show",
    "lineage": "wt_registry.inspect_:lineage",
    "pull": "wt_registry.pulling:pull",
    "predict": "wt_registry.predicting:predict",
    "version": version_command("wt-registry", __version__),
}

main = main_for("wt-registry", __doc__, COMMANDS)
