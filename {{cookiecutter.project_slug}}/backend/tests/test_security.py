"""Password hashing stays within its bounds; CPUs are counted as the container allows."""

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import passwords, security
from app.core.config import get_settings
from app.core.resources import available_cpus, cgroup_cpu_quota

AFFINITY = len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("files", "quota"),
    [
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "garbage"}, None),
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 0.5),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_the_cgroup_cpu_quota_is_read_from_v2_or_v1_files(
    tmp_path: Path, files: dict[str, str], quota: float | None
) -> None:
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)

    assert cgroup_cpu_quota(tmp_path) == quota


def test_available_cpus_follow_the_quota_not_the_host(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert available_cpus(tmp_path) == 1
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert available_cpus(tmp_path) == min(2, AFFINITY)
    (tmp_path / "cpu.max").write_text(f"{(AFFINITY + 8) * 100000} 100000\n")
    assert available_cpus(tmp_path) == AFFINITY
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cpus(tmp_path) == AFFINITY


def test_the_hashing_concurrency_defaults_to_the_available_cpus() -> None:
    assert get_settings().password_hash_concurrency == available_cpus()


class CountingHasher:
    """Stands in for pwdlib: records how many operations run at the same moment."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def _work(self) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1

    def hash(self, _password: str) -> str:
        self._work()
        return "hash"

    def verify(self, _password: str, _hashed: str) -> bool:
        self._work()
        return False

    def verify_and_update(self, _password: str, _hashed: str) -> tuple[bool, None]:
        self._work()
        return False, None


@pytest.fixture
def counting_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingHasher]:
    """Two hashing slots, and a hasher that counts how many are used at once."""
    hasher = CountingHasher()
    monkeypatch.setenv("PASSWORD_HASH_CONCURRENCY", "2")
    monkeypatch.setattr(security, "_password_hash", lambda: hasher)
    caches = (get_settings, security._new_hashing_slots, security._dummy_hash)
    for cache in caches:
        cache.cache_clear()
    yield hasher
    for cache in caches:
        cache.cache_clear()


def test_at_most_the_setting_s_number_of_argon2_operations_run_at_once(
    counting_hasher: CountingHasher,
) -> None:
    operations = [
        lambda: security.hash_password("p"),
        lambda: security.verify_password("p", "h"),
        lambda: security.verify_and_update_password("p", "h"),
        lambda: security.verify_dummy_password("p"),
    ]
    threads = [threading.Thread(target=operations[i % 4]) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert counting_hasher.most == 2


def test_the_common_password_list_is_long_read_once_and_case_blind() -> None:
    passwords.common_passwords.cache_clear()

    listed = passwords.common_passwords()
    checks = [passwords.is_too_common(guess) for guess in ("PASSWORD", "Dragon", "correct-horse-9")]

    assert len(listed) >= 10_000
    assert {"password", "12345678", "qwerty", "iloveyou"} <= listed
    assert not any(line.startswith("#") for line in listed)
    assert checks == [True, True, False]
    assert passwords.common_passwords.cache_info().misses == 1
