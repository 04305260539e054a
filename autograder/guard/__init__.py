"""The anti-monkeypatch guard: `checks` on the grader's side, `in_kernel` loaded into the kernel."""
