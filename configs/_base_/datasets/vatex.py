# VATEX captioning (English): the same recipe as MSR-VTT (8 frames, see
# msrvtt.py) on annotations converted by
# tools/data/vatex/convert_annotations.py and videos in data/vatex/videos.
_base_ = ['./msrvtt.py']
dataset_type = 'VATEXCaptionDataset'
data_root = 'data/vatex'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
# split='test' needs a test file with English captions converted (--test);
# many works report VATEX on the validation split instead.
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
