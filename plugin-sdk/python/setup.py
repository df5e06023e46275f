# Everything is in setup.cfg; this file lets pip use the installed setuptools (see there).
from setuptools import setup

setup()
