"""The one error type users see: the CLI prints its message as a single line and exits non-zero."""

__all__ = ["AxhwError", "ToolError", "VerificationFailed"]


class AxhwError(Exception):
    """A user-facing error (bad input, missing tool, failed check). The message is one line."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class ToolError(AxhwError):
    """An external tool (Yosys, OpenSTA, a simulator) failed; the message names it and its log."""

    def __init__(self, tool: str, message: str, log: "str | None" = None):
        text = f"{tool}: {message}"
        if log:
            text += f" (log: {log})"
        super().__init__(text)
        self.tool = tool
        self.log = log


class VerificationFailed(AxhwError):
    """The RTL disagreed with its golden model."""

    exit_code = 1
