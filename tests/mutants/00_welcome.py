"""Wrong and right answers for solutions/00_welcome.ipynb (format: tests/test_mutants.py)."""

MUTANTS = [
    {"task": "t1-device", "cell": "t1-code", "kind": "wrong", "name": "device as a string",
     "code": "DEVICE = 'cpu'\nn_threads = torch.get_num_threads()", "message": "should be a torch.device"},
    {"task": "t1-device", "cell": "t1-code", "kind": "wrong", "name": "thread count off by one",
     "code": "DEVICE = pick_device()\nn_threads = torch.get_num_threads() + 1", "message": "n_threads"},
    {"task": "t1-device", "cell": "t1-code", "kind": "right", "name": "torch.device built by hand",
     "code": "DEVICE = torch.device(pick_device().type)\nn_threads = int(torch.get_num_threads())"},
]
