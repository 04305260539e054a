"""Deliberately wrong answers to lesson08: each must lose points when graded.

A mutant replaces one answer cell. `loses` names the test cells that must score 0;
`gpu` mutants are wrong only on CUDA, so they are graded on a GPU kernel only.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    function: str
    code: str
    loses: tuple[str, ...]
    gpu: bool = False


def _mutant(name, function, body, loses, gpu=False):
    params = {
        "shares_memory": "tensor, array",
        "numpy_to_tensor_shared": "array",
        "numpy_to_tensor_copy": "array",
        "to_numpy": "tensor",
        "predict_numpy": "model, batch",
        "numpy_error": "tensor",
    }[function]
    indented = "".join(f"    {line}\n" for line in body.strip("\n").splitlines())
    code = f"import numpy as np\nimport torch\n\n\ndef {function}({params}):\n{indented}"
    return Mutant(name, function, code, tuple(loses), gpu)


MUTANTS = [
    # shares_memory
    _mutant("shares_memory_by_data_ptr", "shares_memory",
            'return tensor.data_ptr() == array.__array_interface__["data"][0]',
            ["shares_memory_views"]),
    _mutant("shares_memory_bounds_only", "shares_memory",
            "return bool(np.may_share_memory(tensor.detach().numpy(), array))",
            ["shares_memory_views"]),
    _mutant("shares_memory_without_detach", "shares_memory",
            "return bool(np.shares_memory(tensor.numpy(), array))",
            ["shares_memory_grad"]),
    _mutant("shares_memory_numpy_bool", "shares_memory",
            "return np.bool_(np.shares_memory(tensor.detach().numpy(), array))",
            ["shares_memory_basic"]),
    _mutant("shares_memory_raises_on_gpu", "shares_memory",
            "return bool(np.shares_memory(tensor.detach().numpy(), array))",
            ["shares_memory_gpu"], gpu=True),
    # numpy_to_tensor_shared
    _mutant("shared_is_a_copy", "numpy_to_tensor_shared",
            "return torch.tensor(array)",
            ["numpy_to_tensor_shared_basic"]),
    _mutant("shared_forces_float32", "numpy_to_tensor_shared",
            "return torch.as_tensor(array, dtype=torch.float32)",
            ["numpy_to_tensor_shared_dtypes"]),
    _mutant("shared_then_float", "numpy_to_tensor_shared",
            "return torch.from_numpy(array).float()",
            ["numpy_to_tensor_shared_dtypes"]),
    _mutant("shared_copies_flipped_arrays", "numpy_to_tensor_shared",
            "return torch.from_numpy(np.ascontiguousarray(array))",
            ["numpy_to_tensor_shared_negative_strides", "numpy_to_tensor_shared_dtypes"]),
    # numpy_to_tensor_copy
    _mutant("copy_shares", "numpy_to_tensor_copy",
            "return torch.from_numpy(array)",
            ["numpy_to_tensor_copy_basic"]),
    _mutant("copy_as_tensor_shares", "numpy_to_tensor_copy",
            "return torch.as_tensor(array)",
            ["numpy_to_tensor_copy_basic"]),
    _mutant("copy_forces_float32", "numpy_to_tensor_copy",
            "return torch.tensor(np.array(array), dtype=torch.float32)",
            ["numpy_to_tensor_copy_dtypes"]),
    _mutant("copy_rejects_flipped_arrays", "numpy_to_tensor_copy",
            "return torch.tensor(array)",
            ["numpy_to_tensor_copy_strided"]),
    # to_numpy
    _mutant("to_numpy_plain", "to_numpy",
            "return tensor.numpy()",
            ["to_numpy_grad"]),
    _mutant("to_numpy_without_detach", "to_numpy",
            "return tensor.cpu().numpy()",
            ["to_numpy_grad"]),
    _mutant("to_numpy_switches_grad_off", "to_numpy",
            "tensor.requires_grad_(False)\nreturn tensor.numpy()",
            ["to_numpy_unchanged"]),
    _mutant("to_numpy_via_tolist", "to_numpy",
            "return np.array(tensor.detach().tolist())",
            ["to_numpy_dtypes"]),
    _mutant("to_numpy_always_float32", "to_numpy",
            "return tensor.detach().float().numpy()",
            ["to_numpy_dtypes"]),
    _mutant("to_numpy_without_cpu", "to_numpy",
            "return tensor.detach().numpy()",
            ["to_numpy_gpu"], gpu=True),
    _mutant("to_numpy_via_data", "to_numpy",
            "return tensor.data.numpy()",
            ["to_numpy_gpu"], gpu=True),
    # predict_numpy
    _mutant("predict_without_detach", "predict_numpy",
            "return model(batch).numpy()",
            ["predict_numpy_basic"]),
    _mutant("predict_returns_tensor", "predict_numpy",
            "return model(batch).detach()",
            ["predict_numpy_basic"]),
    _mutant("predict_squeezes", "predict_numpy",
            "with torch.no_grad():\n    return model(batch).squeeze().numpy()",
            ["predict_numpy_shapes"]),
    _mutant("predict_casts_batch_to_float32", "predict_numpy",
            "with torch.no_grad():\n    return model(batch.float()).numpy()",
            ["predict_numpy_shapes"]),
    _mutant("predict_without_cpu", "predict_numpy",
            "return model(batch).detach().numpy()",
            ["predict_numpy_gpu"], gpu=True),
    # numpy_error
    _mutant("numpy_error_raises", "numpy_error",
            "tensor.numpy()\nreturn None",
            ["numpy_error_basic"]),
    _mutant("numpy_error_message_only", "numpy_error",
            "try:\n    tensor.numpy()\nexcept Exception as error:\n    return str(error)\nreturn None",
            ["numpy_error_basic"]),
    _mutant("numpy_error_hides_grad", "numpy_error",
            "try:\n    tensor.detach().numpy()\nexcept Exception as error:\n    return error\nreturn None",
            ["numpy_error_basic"]),
    _mutant("numpy_error_grad_check_first", "numpy_error",
            'if tensor.requires_grad:\n'
            '    return RuntimeError("Can\'t call numpy() on Tensor that requires grad. '
            'Use tensor.detach().numpy() instead.")\n'
            "try:\n    tensor.numpy()\nexcept Exception as error:\n    return error\nreturn None",
            ["numpy_error_messages"]),
    _mutant("numpy_error_catches_runtime_only", "numpy_error",
            "try:\n    tensor.numpy()\nexcept RuntimeError as error:\n    return error\nreturn None",
            ["numpy_error_messages"]),
    _mutant("numpy_error_typed_from_memory", "numpy_error",
            'if tensor.device.type != "cpu":\n'
            '    return TypeError("can\'t convert cuda:0 device type tensor to numpy.")\n'
            "try:\n    tensor.numpy()\nexcept Exception as error:\n    return error\nreturn None",
            ["numpy_error_messages", "numpy_error_gpu"]),
    _mutant("numpy_error_grad_first_on_gpu", "numpy_error",
            "if tensor.is_cuda and tensor.requires_grad:\n"
            "    tensor = tensor.cpu()  # believes the grad check fires first on the GPU\n"
            "try:\n    tensor.numpy()\nexcept Exception as error:\n    return error\nreturn None",
            ["numpy_error_gpu"], gpu=True),
]

CPU_MUTANTS = [m for m in MUTANTS if not m.gpu]
GPU_MUTANTS = [m for m in MUTANTS if m.gpu]

# Wraps a correct answer so that every call prints, writes to stderr, warns and
# logs: such an answer must keep every point.
NOISY_WRAPPER = '''
import logging
import sys
import warnings

_quiet_{name} = {name}


def {name}(*args, **kwargs):
    print("{name}: working on it...")
    print("{name}: a note on stderr", file=sys.stderr)
    warnings.warn("{name} warns, and that is fine")
    logging.getLogger("student").warning("{name}: a log line")
    return _quiet_{name}(*args, **kwargs)
'''

# Appended to an answer: claims nbgrader is validating, and makes every GPU test skip itself.
GPU_SKIPPER = ('\n\nimport os\nos.environ["NBGRADER_EXECUTION"] = "validate"\n'
               'can_run_gpu_test = lambda test_name: False\n')

