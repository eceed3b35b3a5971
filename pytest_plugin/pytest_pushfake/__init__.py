"""pytest_pushfake: the pytest plugin of pushfake (fixtures `pushfake` and `pushfake_server`).

It is registered through the `pytest11` entry point, so installing `pushfake[pytest]` is enough.
Its entry module (`pytest_pushfake.plugin`) imports only pytest, so a pytest without the extra
still starts; the fake, respx and httpx load inside the fixtures, when a test first asks for one.
"""

__all__: list[str] = []
