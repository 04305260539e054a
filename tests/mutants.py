"""Deliberately wrong answers to lesson08, each of which must lose points when graded, and
correct answers in other styles, each of which must keep every point.

A mutant replaces one answer cell. `loses` names the test cells that must score 0;
`gpu` mutants are wrong only on CUDA, so they lose points on a GPU kernel only (each CUDA-only
mistake that the CPU can show too is caught by a `_meta` test as well, so is no `gpu` mutant).
`in_process_only` mutants are wrong in a way only a test in the answer's own process can see
(nbgrader autograde, tests/course.run_in_process): the course's grader calls answers through its
referee, which rebuilds a returned exception from its type and message.

A variant (CORRECT_VARIANTS) replaces several answer cells with correct answers written in
another style than the reference's; it must earn every point the kernel can grade.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    function: str
    code: str
    loses: tuple[str, ...]
    gpu: bool = False
    in_process_only: bool = False


PARAMS = {
    "shares_memory": "tensor, array",
    "numpy_to_tensor_shared": "array",
    "numpy_to_tensor_copy": "array",
    "to_numpy": "tensor",
    "predict_numpy": "model, batch",
    "numpy_error": "tensor",
}


def _answer(function, body):
    indented = "".join(f"    {line}\n" for line in body.strip("\n").splitlines())
    return f"import numpy as np\nimport torch\n\n\ndef {function}({PARAMS[function]}):\n{indented}"


def _mutant(name, function, body, loses, gpu=False, in_process_only=False):
    return Mutant(name, function, _answer(function, body), tuple(loses), gpu, in_process_only)


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
            ["shares_memory_meta", "shares_memory_gpu"]),
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
    _mutant("to_numpy_asarray_without_grad", "to_numpy",  # on a leaf, asarray turns its requires_grad off
            'return torch.asarray(tensor, device="cpu", requires_grad=False).numpy()',
            ["to_numpy_unchanged"]),
    _mutant("to_numpy_squeezes", "to_numpy",
            "return tensor.detach().cpu().numpy().squeeze()",
            ["to_numpy_dtypes"]),
    _mutant("to_numpy_item_for_scalars", "to_numpy",
            "if tensor.dim() == 0:\n    return tensor.item()\nreturn tensor.detach().cpu().numpy()",
            ["to_numpy_grad", "to_numpy_dtypes"]),
    _mutant("to_numpy_without_cpu", "to_numpy",
            "return tensor.detach().numpy()",
            ["to_numpy_meta", "to_numpy_gpu"]),
    _mutant("to_numpy_via_data", "to_numpy",
            "return tensor.data.numpy()",
            ["to_numpy_meta", "to_numpy_gpu"]),
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
    _mutant("predict_always_float64", "predict_numpy",
            "return np.array(model(batch).tolist())",
            ["predict_numpy_shapes"]),
    _mutant("predict_by_hand_linear", "predict_numpy",
            "with torch.no_grad():\n    predictions = batch @ model.weight.T + model.bias\n"
            "return predictions.cpu().numpy()",
            ["predict_numpy_models"]),
    _mutant("predict_reshapes_by_out_features", "predict_numpy",
            "with torch.no_grad():\n    predictions = model(batch)\n"
            "return predictions.cpu().numpy().reshape(len(batch), model.out_features)",
            ["predict_numpy_models"]),
    _mutant("predict_freezes_model", "predict_numpy",
            "for p in model.parameters():\n    p.requires_grad_(False)\nreturn model(batch).cpu().numpy()",
            ["predict_numpy_unchanged"]),
    _mutant("predict_switches_to_eval", "predict_numpy",
            "model.eval()\nwith torch.no_grad():\n    return model(batch).cpu().numpy()",
            ["predict_numpy_unchanged"]),
    _mutant("predict_back_to_train_mode", "predict_numpy",
            "model.eval()\nwith torch.no_grad():\n    predictions = model(batch).cpu().numpy()\n"
            "model.train()\nreturn predictions",
            ["predict_numpy_unchanged"]),
    _mutant("predict_without_cpu", "predict_numpy",
            "return model(batch).detach().numpy()",
            ["predict_numpy_meta", "predict_numpy_gpu"]),
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
    _mutant("numpy_error_rebuilt", "numpy_error",
            "try:\n    tensor.numpy()\nexcept Exception as error:\n    return type(error)(*error.args)\nreturn None",
            ["numpy_error_same_object"], in_process_only=True),
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


@dataclass(frozen=True)
class Variant:
    name: str
    answers: dict  # grade_id -> the answer cell


def _variant(name, **bodies):
    return Variant(name, {function: _answer(function, body) for function, body in bodies.items()})


CORRECT_VARIANTS = [
    _variant("variant_force",
             shares_memory='if tensor.device.type != "cpu":\n    return False\n'
                           "return bool(np.shares_memory(tensor.numpy(force=True), array))",
             to_numpy="return tensor.numpy(force=True)",
             predict_numpy="return model(batch).numpy(force=True)"),
    _variant("variant_asarray",
             numpy_to_tensor_copy="return torch.asarray(np.copy(array))",
             to_numpy="return np.asarray(tensor.cpu().detach())",
             predict_numpy="return np.asarray(model(batch).detach().cpu())"),
    _variant("variant_grad_modes",
             shares_memory="if not tensor.is_cpu:\n    return False\nwith torch.no_grad():\n"
                           "    return bool(np.shares_memory(tensor.numpy(), array))",
             to_numpy="with torch.no_grad():\n    return tensor.cpu().numpy()",
             predict_numpy="with torch.inference_mode():\n    predictions = model(batch)\n"
                           "return predictions.cpu().numpy()"),
    _variant("variant_detach_first",
             numpy_to_tensor_copy="return torch.tensor(array.copy())",
             to_numpy="return tensor.cpu().detach().numpy()",
             predict_numpy="output = model(batch)\nreturn output.detach().cpu().numpy()",
             numpy_error="try:\n    tensor.numpy()\nexcept (RuntimeError, TypeError) as error:\n"
                         "    return error\nreturn None"),
    _variant("variant_as_tensor",
             numpy_to_tensor_shared="return torch.as_tensor(array)",
             numpy_to_tensor_copy='return torch.tensor(np.array(array, order="C"))',
             to_numpy='return tensor.detach().to("cpu").numpy()',
             predict_numpy="with torch.set_grad_enabled(False):\n    predictions = model(batch)\n"
                           'return predictions.to("cpu").numpy()'),
    _variant("variant_explicit_checks",
             shares_memory="try:\n    host = tensor.detach().numpy()\n"
                           "except TypeError:  # not on the CPU: no NumPy memory to share\n    return False\n"
                           "return bool(np.shares_memory(host, array))",
             numpy_to_tensor_shared="if any(stride < 0 for stride in array.strides):\n"
                                    '    raise ValueError("an array with negative strides can\'t share its memory")\n'
                                    "return torch.from_numpy(array)",
             numpy_to_tensor_copy="return torch.from_numpy(np.array(array))",
             to_numpy="if tensor.requires_grad:\n    tensor = tensor.detach()\n"
                      'if tensor.device.type != "cpu":\n    tensor = tensor.cpu()\nreturn tensor.numpy()'),
    _variant("variant_copies",
             shares_memory='return tensor.device == torch.device("cpu") and '
                           "bool(np.shares_memory(tensor.detach().numpy(), array))",
             to_numpy="return tensor.detach().cpu().numpy().copy()",
             predict_numpy="with torch.no_grad():\n    return np.array(model(batch).cpu())",
             numpy_error="error = None\ntry:\n    tensor.numpy()\nexcept BaseException as caught:\n"
                         "    error = caught\nreturn error"),
    _variant("variant_clones",
             numpy_to_tensor_copy="dtype = torch.from_numpy(np.empty(0, dtype=array.dtype)).dtype\n"
                                  "tensor = torch.empty(array.shape, dtype=dtype)\n"
                                  "tensor.numpy()[...] = array\nreturn tensor",
             to_numpy="return tensor.clone().detach().cpu().numpy()",
             predict_numpy="predictions = model(batch)\nreturn predictions.clone().detach().cpu().numpy()",
             numpy_error="import sys\ntry:\n    tensor.numpy()\nexcept Exception:\n"
                         "    return sys.exc_info()[1]\nreturn None"),
]

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

