"""What the wt-mmdet tests train with."""

# RetinaNet-R18 with a 64-channel FPN and head: the preset's model, narrowed so CPU tests stay quick
SMALL_RETINANET = {"model.neck.out_channels": 64, "model.bbox_head.in_channels": 64,
                   "model.bbox_head.feat_channels": 64}
FIT_ARGS = ["--train.imgsz", "320", "--train.batch", "2", "--train.workers", "0", "--mmdet.warmup_iters", "2",
            "--train.val_split", "all"]
