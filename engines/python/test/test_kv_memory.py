"""The kv stores' byte limits bound the main process's real memory (attack s17py F6): a string is
counted as CPython holds it, 1, 2 or 4 bytes a character depending on its widest character (a
64K-character emoji value takes 262 KB, which the old estimate of two bytes a character counted as
131 KB), its key and entry too.

    cd engines/python && /usr/bin/python3 -m unittest discover -s test -v
"""

import json
import sys
import tracemalloc
import unittest

sys.path.insert(0, __file__.rsplit('/test/', 1)[0])

from pyengine.kv import KvError, Stores, LIMITS  # noqa: E402

MiB = 1 << 20


class KvMemoryTest(unittest.TestCase):
    def fill(self, char, length, store_mib=4):
        """Fills one tenant's store with values of `length` times `char`, made as the main process
        gets them (decoded from a worker's frame): (values stored, bytes counted, bytes taken)."""
        stores = Stores(dict(LIMITS, max_bytes=store_mib * MiB), 4 * store_mib * MiB)
        stores.of('t')
        text = json.dumps(char * length)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            stored = 0
            for i in range(100000):
                try:
                    stores.serve('t', 'set', json.loads(f'["key-{i:06d}", {text}, 0]'))
                except KvError:
                    break
                stored += 1
            taken = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        return stored, stores.of('t').bytes, taken

    def test_what_a_store_counts_is_at_least_the_memory_it_takes(self):
        for name, char in (('ASCII', 'x'), ('Latin-1', '\u00e9'), ('BMP', '\u20ac'), ('astral', '\U0001F600')):
            for length in (1, 100, 65536):
                with self.subTest(name, length=length):
                    stored, counted, taken = self.fill(char, length)
                    self.assertGreater(stored, 0)
                    self.assertLessEqual(taken, counted, f'{stored} values of {length} {name} characters')
                    self.assertLessEqual(counted, 4 * MiB)

    def test_a_store_of_4_mib_holds_15_values_of_64k_emoji(self):
        stored, counted, taken = self.fill('\U0001F600', 65536)
        self.assertEqual(stored, 4 * MiB // (4 * 65536 + 1000))  # each takes 4 bytes a character: 262 KB
        self.assertEqual(self.fill('x', 65536)[0], 4 * MiB // (65536 + 1000))  # ASCII: one byte a character


if __name__ == '__main__':
    unittest.main()
