"""vidcap_mm: pretrained BLIP-2 as a video captioner, an MMAction2 plugin."""

import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    """Requirement lines of requirements/<name>.txt, comments dropped."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith('-')]


def read_version():
    scope = {}
    with open(osp.join(HERE, 'vidcap_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='vidcap_mm',
    version=read_version(),
    description='Pretrained image-text models (BLIP-2) as video captioners, '
    'an MMAction2 plugin',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    python_requires='>=3.10',
    install_requires=read_requirements('runtime'),
    extras_require=dict(
        tests=read_requirements('tests'), web=read_requirements('web')
    ),
    license='Apache-2.0',
    zip_safe=False,
)
