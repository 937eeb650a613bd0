"""Step 6: the static leaderboard site from the results folder.

CLI equivalent: `vidret leaderboard out/examples/results --out out/examples/site`.
"""

from _paths import RESULTS, SITE

from vidret.hub.leaderboard import build_site

for path in build_site(RESULTS, SITE):
    print("wrote", path)
print(f"open {SITE / 'index.html'} in a browser")
