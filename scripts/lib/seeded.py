"""The self-tests' shared pattern: a check must pass on the repository and
find each seeded defect, each seeded alone into a copy of the parts it reads.

    class MyCheck(seeded.SeededTest):
        PARTS = ("k8s", "docs")
        DEFECTS = [(file, old text, new text, words a problem must contain), ...]
        def check(self, repo): return my_check.check(repo)
"""

import os
import shutil
import tempfile
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class SeededTest(unittest.TestCase):
    PARTS: tuple = ()
    DEFECTS: list = []

    def check(self, repo):  # pragma: no cover - each test class defines it
        raise NotImplementedError

    def setUp(self):
        self.copy = tempfile.mkdtemp()
        for part in self.PARTS:
            shutil.copytree(os.path.join(REPO, part), os.path.join(self.copy, part))

    def tearDown(self):
        shutil.rmtree(self.copy)

    def test_repository_passes(self):
        self.assertEqual(self.check(REPO), [])

    def test_each_defect_is_found(self):
        for path, old, new, word in self.DEFECTS:
            with self.subTest(path=path, new=new[:60]):
                full = os.path.join(self.copy, path)
                with open(full) as f:
                    text = f.read()
                self.assertIn(old, text, "the seed no longer matches the file")
                with open(full, "w") as f:
                    f.write(text.replace(old, new, 1))
                try:
                    problems = self.check(self.copy)
                    self.assertTrue(any(word in p for p in problems), problems)
                finally:
                    with open(full, "w") as f:
                        f.write(text)
