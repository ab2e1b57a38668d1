"""The xdist scheduling of the suite: a module with module-scoped fixtures is never split."""

from shoploop.core.worker_scheduling import has_module_scoped_fixture, take_chunk

COLLECTION = [
    "a/test_plain.py::test_1",
    "a/test_plain.py::test_2",
    "a/test_world.py::test_1",
    "a/test_world.py::test_2",
    "a/test_world.py::test_3[x]",
    "a/test_fuzz.py::test_api",
    "a/test_fuzz.py::test_api",
    "a/test_fuzz.py::test_api",
]


def worlds(module: str) -> bool:
    return module == "a/test_world.py"


def test_a_chunk_reaching_into_a_world_module_takes_the_whole_module():
    pending = list(range(len(COLLECTION)))

    chunk = take_chunk(pending, 3, COLLECTION, worlds)

    assert chunk == [0, 1, 2, 3, 4]
    assert pending == [5, 6, 7]


def test_other_modules_are_split_as_xdist_would_and_items_sharing_a_node_id_all_run():
    pending = list(range(len(COLLECTION)))

    first = take_chunk(pending, 1, COLLECTION, worlds)
    second = take_chunk(pending, 5, COLLECTION, worlds)
    third = take_chunk(pending, 5, COLLECTION, worlds)

    assert first == [0]
    assert second == [1, 2, 3, 4, 5]
    assert third == [6, 7] and pending == []


def test_a_world_test_put_back_after_a_crash_comes_with_the_rest_still_pending():
    pending = [3, 0, 1, 4]

    chunk = take_chunk(pending, 1, COLLECTION, worlds)

    assert chunk == [3, 4]
    assert pending == [0, 1]


def test_module_scoped_fixtures_are_found_in_the_module_or_the_conftest_beside_it(tmp_path):
    world = tmp_path / "test_world.py"
    world.write_text('@pytest.fixture(scope="module")\ndef world(): ...\n')
    plain = tmp_path / "test_plain.py"
    plain.write_text("@pytest.fixture\ndef thing(): ...\n")
    browser = tmp_path / "browser"
    browser.mkdir()
    (browser / "conftest.py").write_text("@pytest.fixture(scope='module')\ndef server(): ...\n")
    (browser / "test_journey.py").write_text("def test_it(server): ...\n")

    assert has_module_scoped_fixture(world)
    assert not has_module_scoped_fixture(plain)
    assert has_module_scoped_fixture(browser / "test_journey.py")
    assert not has_module_scoped_fixture(tmp_path / "missing.py")
