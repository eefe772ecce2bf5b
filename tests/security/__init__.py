"""The threat model: each module names the threat it holds the project to and tests that fail
when the defence is removed."""
