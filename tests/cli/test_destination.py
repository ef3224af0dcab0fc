import pytest

from glai.cli.destination import check_destination, writing


@pytest.mark.parametrize(
    ("make_path", "message"),
    [
        (lambda d: d / "absent" / "m.safetensors", "the directory {d}/absent does not exist"),
        (lambda d: d, "it is a directory"),
    ],
    ids=["missing-directory", "a-directory"],
)
def test_a_destination_that_cannot_be_written_is_refused(make_path, message, tmp_path):
    path = str(make_path(tmp_path))
    with pytest.raises(OSError) as error:
        check_destination(path)
    assert str(error.value) == f"cannot write {path}: {message.format(d=tmp_path)}"


def test_a_write_error_names_the_users_path_not_the_temporary_file():
    with pytest.raises(OSError) as error, writing("out/m.safetensors"):
        raise PermissionError(13, "Permission denied", "out/.m.safetensors.tmp-0123456789abcdef")
    assert str(error.value) == "cannot write out/m.safetensors: Permission denied"
