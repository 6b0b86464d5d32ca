"""wt-data: datasets for wildlife detection and classification: import, validate, stats, split, tile, crops, remap, merge, export, hardneg."""

from wt_core.cli import Commands, main_for, version_command

from wt_data import __version__

COMMANDS: Commands = {
    "import": "wt_data.importing:import_",
    "validate": "wt_data.validating:validate",
    "stats": "wt_data.summary:stats",
    "split": "wt_data.splitting:split",
    "tile": "wt_data.tiling:tile",
    "crops": "wt_data.cropping:crops",
    "remap": "wt_data.remapping:remap",
    "merge": "wt_data.remapping:merge",
    "export": "wt_data.exporting:export",
    "boxes": "wt_data.pointboxes:boxes",
    "geojson": "wt_data.geojson:geojson",
    "preview": "wt_data.preview:preview",
    "hardneg": "wt_data.hardneg:hardneg",
    "version": version_command("wt-data", __version__),
}

main = main_for("wt-data", __doc__, COMMANDS)
