"""Copy the committed part of an `axhw sweep` output (results.csv + designs/) into a test fixture;
the LUTs are re-simulated from the designs on load (axhw.measure.lut.design_lut), so they are not copied."""

import shutil
import sys
from pathlib import Path

import pandas as pd

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
df = pd.read_csv(src / "results.csv")
df = df.drop(columns=["lut_path"], errors="ignore")
(dst / "designs").mkdir(parents=True, exist_ok=True)
for top in df["top"]:
    for ext in (".v", ".json"):
        shutil.copy2(src / "designs" / f"{top}{ext}", dst / "designs" / f"{top}{ext}")
df.to_csv(dst / "results.csv", index=False)
print(f"{len(df)} rows -> {dst}")
