"""What every reference script does before and after importing torch.

Import this module FIRST (before numpy and torch): OpenBLAS reads its thread
count from the environment when it loads, and Debian's torch does its matrix
products through whichever libblas.so.3 the system selects, which
torch.set_num_threads does not reach.
"""
import os
import sys

sys.dont_write_bytecode = True  # keep bench/reference free of __pycache__


def threads_from_argv(argv=None, default=1):
    """The value of --threads N (or --threads=N) in argv, read before argparse runs."""
    argv = sys.argv[1:] if argv is None else argv
    for i, a in enumerate(argv):
        if a == '--threads' and i + 1 < len(argv):
            return int(argv[i + 1])
        if a.startswith('--threads='):
            return int(a.split('=', 1)[1])
    return default


def pin_threads(threads):
    """Makes BLAS and OpenMP use `threads` threads; call before numpy/torch load."""
    for var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[var] = str(threads)


def blas_library():
    """The BLAS this process loaded (after torch is imported): 'openblas', 'mkl', 'blis' or
    'reference' (netlib's libblas3, unoptimised: ~8x slower matrix products)."""
    try:
        with open('/proc/self/maps') as f:
            maps = f.read()
    except OSError:
        return 'unknown'
    for name in ('openblas', 'mkl', 'blis', 'atlas'):
        if name in maps:
            return name
    return 'reference' if 'libblas.so' in maps else 'unknown'


pin_threads(threads_from_argv())
