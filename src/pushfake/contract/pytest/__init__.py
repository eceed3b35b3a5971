"""The contract suite as pytest runs it.

`session` is the pytest plugin of the suite (entry point `pushfake-contract` in the `pytest11`
group, so installing pushfake registers it; it imports only pytest and the settings): the
`--pushfake-*` contract options, the session target `pushfake_contract`, secrets scrubbed from
every report, pytest-xdist workers' findings, and the summary. `options` turns the options into
`ContractSettings`; `run` is one session's run (`Contract`: the target and what each check
found); `suite` holds the test functions; `report` the terminal and JSON reports.

It sits beside the fixtures plugin (`pytest_pushfake`), which imports none of it.
"""
