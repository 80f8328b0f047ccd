"""Writes fixtures/audio/g711_golden.json: the 16-bit sample of every G.711 code.

Python's audioop module (standard library up to 3.12; run with Python 3.11) decodes G.711
with the tables of Sun Microsystems' public-domain g711.c, which follow ITU-T G.711.
src/audio/raw.rs is checked against these values. Run from the repository root:
python3 tools/make_g711_golden.py
"""

import audioop
import json
import sys
from array import array


def decode_all(decode) -> list[int]:
    samples = array("h")
    samples.frombytes(decode(bytes(range(256)), 2))
    return samples.tolist()


def main() -> None:
    golden = {
        "source": f"audioop.ulaw2lin / audioop.alaw2lin, Python {sys.version.split()[0]}",
        "mulaw": decode_all(audioop.ulaw2lin),
        "alaw": decode_all(audioop.alaw2lin),
    }
    with open("fixtures/audio/g711_golden.json", "w") as out:
        json.dump(golden, out)
        out.write("\n")


if __name__ == "__main__":
    main()
