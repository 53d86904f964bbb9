import pytest

from vistream.analytics.keyfile import KeyFile, KeyFileError, split_list


def test_groups_keys_comments_and_lines():
    text = "# header\n[a]\nx = 1\n\n# c\ny=2;3;\nz=hello  # trailing note\n[b]\nx=uri#frag\nx=last\n[a]\nw=9\n"
    kf = KeyFile.parse(text, "f.txt")
    assert [g.name for g in kf] == ["a", "b"]
    a = kf.group("a")
    assert [(e.key, e.value, e.line) for e in a] == [("x", "1", 3), ("y", "2;3;", 6), ("z", "hello", 7), ("w", "9", 12)]
    assert a.get_int_list("y") == [2, 3]
    assert kf.group("b").get_str("x") == "last"  # repeated key: last wins, as GKeyFile
    assert kf.group("b").entry("x").line == 10


def test_typed_getters_and_errors_name_file_and_line():
    kf = KeyFile.parse("[g]\nn=abc\nb=maybe\nf=1.5\nr=70\n", "cfg.txt")
    g = kf.group("g")
    with pytest.raises(KeyFileError, match=r"^cfg\.txt:2: \[g\] n: expected an integer"):
        g.get_int("n")
    with pytest.raises(KeyFileError, match=r"^cfg\.txt:3: .*expected 0/1 or true/false"):
        g.get_bool("b")
    assert g.get_float("f") == 1.5
    with pytest.raises(KeyFileError, match=r"^cfg\.txt:5: .*out of range \[0, 64\]"):
        g.get_int("r", min_value=0, max_value=64)
    assert g.get_int("missing", 7) == 7


@pytest.mark.parametrize(("text", "line", "msg"), [
    ("[ok]\n[bad\n", 2, "malformed group header"),
    ("key=1\n", 1, "key outside any group"),
    ("[g]\njustaword\n", 2, "expected 'key=value'"),
    ("[g]\n=3\n", 2, "empty key"),
])
def test_syntax_errors(text, line, msg):
    with pytest.raises(KeyFileError) as exc:
        KeyFile.parse(text, "x.txt")
    assert exc.value.line == line
    assert str(exc.value).startswith(f"x.txt:{line}: ") and msg in str(exc.value)


def test_split_list_and_missing_file(tmp_path):
    assert split_list(" 1; 2 ;;3;") == ["1", "2", "3"]
    with pytest.raises(KeyFileError, match="config file not found"):
        KeyFile.load(tmp_path / "nope.txt")
