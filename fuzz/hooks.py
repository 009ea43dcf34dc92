"""Loaded into the schemathesis process (SCHEMATHESIS_HOOKS=fuzz.hooks) before it generates anything.

Hypothesis names each strategy by parsing its lambdas' source. For our nested request bodies (a
milestone plan: an object holding a list of objects) that parse runs deep in the stack, where
CPython 3.11 can fail with "SystemError: AST constructor recursion depth mismatch", and the whole
operation is reported as an error of the fuzzer rather than of the API. The name is only used in
messages, so when the parse fails this falls back to the name Hypothesis itself uses when it
cannot find a lambda's source.
"""

from hypothesis.internal import lambda_sources

_describe = lambda_sources._lambda_description


def _describe_or_unknown(f, *args, **kwargs):
    try:
        return _describe(f, *args, **kwargs)
    except (SystemError, RecursionError):
        return "lambda: <unknown>"


lambda_sources._lambda_description = _describe_or_unknown
