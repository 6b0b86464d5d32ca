"""wt-data: datasets for wildlife detection and classification: import, validate, stats, split, tile, crops, remap, merge, export."""

from wt_core.cli import main_for, version_command

from wt_data import __version__
from wt_data.cropping import crops
from wt_data.exporting import export
from wt_data.importing import import_
from wt_data.remapping import merge, remap
from wt_data.splitting import split
from wt_data.summary import stats
from wt_data.tiling import tile
from wt_data.validating import validate

COMMANDS = {
    "import": import_,
    "validate": validate,
    "stats": stats,
    "split": split,
    "tile": tile,
    "crops": crops,
    "remap": remap,
    "merge": merge,
    "export": export,
    "version": version_command("wt-data", __version__),
}

main = main_for("wt-data", __doc__, COMMANDS)
