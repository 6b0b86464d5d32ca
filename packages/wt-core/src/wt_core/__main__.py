"""`python -m wt_core schema DIR`: write the JSON Schema of every manifest kind."""

import json
import sys
from pathlib import Path

from wt_core.manifest import json_schemas

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "schema":
        sys.exit("usage: python -m wt_core schema DIR")
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for kind, schema in json_schemas().items():
        (out / f"{kind}.schema.json").write_text(json.dumps(schema, indent=2))
    print(out.resolve())
