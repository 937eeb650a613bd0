"""`python -m vidret ...` (what `accelerate launch -m vidret evaluate ...` runs)."""

from vidret.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
