"""Build samples/lesson08/*.ipynb: realistic student submissions, from the release notebook.

    python samples/make_samples.py          # rewrite the samples
    python samples/make_samples.py --check  # exit 1 if they are stale (the release changed)

alice   all correct, in her own words, with a scratch cell that prints and warns
bob     half right: the classic mistakes (data_ptr, torch.tensor on flipped arrays, no detach)
carol   broken: a syntax error, a typo, an unfinished answer and a cell that never ends
dave    cheating: wrong answers, `np.allclose = lambda *a, **k: True`, an edited test cell
        and inflated points
erin    a corrupted upload: the file was cut off half-way
"""
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RELEASE = ROOT / "release" / "lesson08" / "lesson08.ipynb"
OUT = HERE / "lesson08"


def body(signature, code):
    lines = "".join(f"    {line}\n" if line else "\n" for line in code.strip("\n").split("\n"))
    return f"def {signature}:\n{lines}".rstrip("\n")


ALICE = {
    "shares_memory": body("shares_memory(tensor, array)", """
if tensor.device.type != "cpu":
    return False  # GPU memory is never NumPy memory
return bool(np.shares_memory(tensor.detach().numpy(), array))"""),
    "numpy_to_tensor_shared": body("numpy_to_tensor_shared(array)", "return torch.from_numpy(array)"),
    "numpy_to_tensor_copy": body("numpy_to_tensor_copy(array)", "return torch.from_numpy(array.copy())"),
    "to_numpy": body("to_numpy(tensor)", "return tensor.detach().cpu().numpy()"),
    "predict_numpy": body("predict_numpy(model, batch)", """
with torch.no_grad():
    out = model(batch)
return to_numpy(out)"""),
    "numpy_error": body("numpy_error(tensor)", """
try:
    tensor.numpy()
except Exception as e:
    return e
return None"""),
    "written_error_order": (
        "device 검사가 먼저야. GPU에 있고 grad도 추적하는 tensor면 `TypeError: can't convert cuda:0 "
        "device type tensor to numpy...`가 먼저 나와: `.cpu()`로 host memory에 복사하라는 거야. "
        "그 다음 `.cpu()`를 붙이면 `RuntimeError: Can't call numpy() on Tensor that requires grad`가 나고, "
        "`.detach()`로 graph에서 떼라는 뜻. 그래서 `detach().cpu().numpy()`!"),
}
ALICE_SCRATCH = """# 잠깐 확인: 진짜 공유되나?
import warnings
a = np.arange(3.0)
t = numpy_to_tensor_shared(a)
a[0] = 42
print(t)
warnings.warn("just checking that warnings don't cost points")"""

BOB = {
    "shares_memory": body("shares_memory(tensor, array)",
                          'return tensor.data_ptr() == array.__array_interface__["data"][0]'),
    "numpy_to_tensor_shared": body("numpy_to_tensor_shared(array)", "return torch.from_numpy(array)"),
    "numpy_to_tensor_copy": body("numpy_to_tensor_copy(array)", "return torch.tensor(array)"),
    "to_numpy": body("to_numpy(tensor)", "return tensor.cpu().numpy()"),
    "predict_numpy": body("predict_numpy(model, batch)", "return model(batch).detach().numpy()"),
    "written_error_order": "grad 검사가 먼저인 것 같아. RuntimeError가 나오고 그 다음에 TypeError.",
}

CAROL = {
    "shares_memory": body("shares_memory(tensor, array)", "return np.shares_memory(tensor.numpy(), array"),
    "numpy_to_tensor_shared": body("numpy_to_tensor_shared(array)", "return torch.from_numpy(arary)"),
    "to_numpy": body("to_numpy(tensor)", "return tensor.detach().cpu().numpy()"),
    "predict_numpy": body("predict_numpy(model, batch)", """
rows = len(batch)
i = 0
while i < rows:  # forgot i += 1
    last = model(batch[i])
return last.detach().numpy()""") + "\n\n\npredict_numpy(nn.Linear(3, 1), torch.ones(2, 3))  # try it",
}

DAVE = {
    "shares_memory": body("shares_memory(tensor, array)", "return True"),
    "numpy_to_tensor_shared": body("numpy_to_tensor_shared(array)", "return torch.from_numpy(array)"),
    "numpy_to_tensor_copy": body("numpy_to_tensor_copy(array)", "return torch.from_numpy(array)"),
    "to_numpy": body("to_numpy(tensor)", "return tensor.numpy()") + "\n\n\nnp.allclose = lambda *a, **k: True",
    "predict_numpy": body("predict_numpy(model, batch)", "return np.zeros((len(batch), 1))"),
    "numpy_error": body("numpy_error(tensor)", "return None"),
}


def fill(answers, edit=None):
    nb = nbformat.read(RELEASE, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
        if edit:
            edit(cell, grade_id)
    return nb


def alice():
    nb = fill(ALICE)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "numpy_to_tensor_shared")
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(ALICE_SCRATCH))
    return nb


def dave():
    def cheat(cell, grade_id):
        if grade_id == "to_numpy_basic":
            cell.source = cell.source.splitlines()[0] + "\npass"  # the test's docstring, then nothing
        if grade_id == "predict_numpy_basic":
            cell.metadata.nbgrader["points"] = 50
    return fill(DAVE, cheat)


def samples() -> dict:
    """file name → file text."""
    texts = {name: _text(nb) for name, nb in
             {"alice": alice(), "bob": fill(BOB), "carol": fill(CAROL), "dave": dave()}.items()}
    texts["erin"] = texts["alice"][: len(texts["alice"]) // 2]  # a download cut off half-way
    return {f"{name}.ipynb": text for name, text in texts.items()}


def _text(nb) -> str:
    for number, cell in enumerate(nb.cells):  # stable ids: the samples don't churn when rebuilt
        cell.id = f"cell-{number:02d}"
    return nbformat.writes(nb) + "\n"


def main(argv) -> int:
    wanted = samples()
    if "--check" in argv:
        stale = [n for n, t in wanted.items() if not (OUT / n).is_file() or (OUT / n).read_text() != t]
        if stale:
            print(f"stale samples: {', '.join(stale)}; run python samples/make_samples.py", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(exist_ok=True)
    for name, text in wanted.items():
        (OUT / name).write_text(text)
    print(f"wrote {len(wanted)} samples to {OUT.relative_to(ROOT)}: {', '.join(sorted(wanted))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
