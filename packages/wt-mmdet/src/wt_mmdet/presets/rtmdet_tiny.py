# RTMDet-tiny (CSPNeXt backbone), trained from scratch.
_base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'
model = dict(backbone=dict(init_cfg=None))
