"""Drives a real Label Studio through label-studio-sdk; run by Label Studio's own Python (its own environment).

    python ls_client.py URL TOKEN LABEL_CONFIG TASKS OUT [--review]

Creates a project with the label config, imports the tasks (annotations or pre-annotations),
and with --review plays the reviewer: for each task, an annotation made from its prediction, with
the last box of the first task that has boxes deleted (the correction). Then exports the project
as Label Studio JSON to OUT, and prints one JSON line: project id, task count, annotation count.
"""

import json
import sys

from label_studio_sdk import LabelStudio


def main() -> None:
    url, token, config, tasks_file, out = sys.argv[1:6]
    review = "--review" in sys.argv
    client = LabelStudio(base_url=url, api_key=token, timeout=120)
    project = client.projects.create(title="wildtrain round trip", label_config=open(config).read())
    tasks = json.load(open(tasks_file))
    client.projects.import_tasks(id=project.id, request=tasks, return_task_ids=True)
    made = 0
    if review:
        corrected = False
        for task in client.tasks.list(project=project.id, fields="all"):
            preds = client.predictions.list(task=task.id)
            result = [dict(r) for r in (preds[0].result if preds else [])]
            if result and not corrected:
                result = result[:-1]
                corrected = True
            client.annotations.create(id=task.id, result=result, parent_prediction=preds[0].id if preds else None)
            made += 1
    data = b"".join(client.projects.exports.download_sync(id=project.id, export_type="JSON", download_all_tasks=True))
    open(out, "wb").write(data)
    exported = json.loads(data)
    print(json.dumps({"project": project.id, "tasks": len(exported), "annotations_made": made}))


if __name__ == "__main__":
    main()
