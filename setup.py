"""Package discovery only; all metadata is in pyproject.toml.

The design card's top-level folders ship inside the wheel as sub-packages of `vidret`, so an
installed vidret finds its dataset cards, metric modules and adapter presets without the repo:
  datasets_scripts/ -> vidret.dataset_repos, metrics/ -> vidret.metric_modules,
  model_adapters/ -> vidret.model_adapters.
"""

from setuptools import find_packages, setup

MAPPED_FOLDERS = {
    "vidret.dataset_repos": "datasets_scripts",
    "vidret.metric_modules": "metrics",
    "vidret.model_adapters": "model_adapters",
}

packages = find_packages("src")
for package, folder in MAPPED_FOLDERS.items():
    packages += [package] + [f"{package}.{sub}" for sub in find_packages(folder)]
    # find_packages reports the folder's sub-packages relative to it; map each one explicitly.
package_dir = {"": "src", **MAPPED_FOLDERS}

setup(packages=packages, package_dir=package_dir)
