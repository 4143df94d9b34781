import os

from nounlens.data.walk import FileEntry, Skipped, walk


def test_walk_finds_images_and_reports_odd_paths(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not an image name")
    (tmp_path / ".hidden.jpg").write_bytes(b"x")
    sub = tmp_path / "folder.jpg"  # a directory with an image name is walked into, not opened
    sub.mkdir()
    (sub / "b.PNG").write_bytes(b"x")
    os.mkfifo(tmp_path / "pipe.jpg")
    os.symlink(tmp_path / "loop1.jpg", tmp_path / "loop2.jpg")
    os.symlink(tmp_path / "loop2.jpg", tmp_path / "loop1.jpg")
    os.symlink(tmp_path, sub / "back-to-top")  # a folder loop
    found = list(walk([tmp_path]))
    files = sorted(os.path.basename(f.path) for f in found if isinstance(f, FileEntry))
    skipped = {os.path.basename(s.path): s.reason for s in found if isinstance(s, Skipped)}
    assert files == ["a.jpg", "b.PNG"]
    assert "not a regular file" in skipped["pipe.jpg"]
    assert set(skipped) == {"pipe.jpg", "loop1.jpg", "loop2.jpg"}


def test_walk_missing_root_is_reported(tmp_path):
    out = list(walk([tmp_path / "nope"]))
    assert len(out) == 1 and isinstance(out[0], Skipped)
