"""The trust boundary: test verdicts come from a kernel that never runs student code.

    wire.py     framing on the socket between the two kernels (both sides)
    agent.py    in the student's kernel: serves calls to the answer's functions (untrusted)
    decode.py   in the referee: arguments into regions, answers decoded strictly
    referee.py  in the referee: proxies for the answer's names, hooks around every cell
    bridge.py   in the grader: installs both sides and runs a trusted cell across them

The agent and referee code is sent to each kernel as source, as the kernels can't import this
package (the sandbox doesn't show it). Design and threat model: docs/trust-boundary.md.
"""
