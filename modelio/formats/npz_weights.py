"""`weights_format="npz"` (Keras 3 `saving_lib.save_model(model, path, weights_format="npz")`):
recognised and refused, never unpickled.

Keras 3.15.1's `NpzIOStore` keeps one Python dict of arrays per object path (`__root__`,
`layers/dense`, ...) and hands them to `np.savez`, which stores each dict as a 0-d *object* array,
that is, as a pickle. Reading such a member needs `np.load(allow_pickle=True)`, which runs
whatever code the pickle names; Keras itself opens the file with `allow_pickle=False` and so
cannot load what it wrote (`ValueError: Object arrays cannot be loaded when allow_pickle=False`).
An npz file holding only plain arrays is not a layout Keras writes or reads either (its loader
expects a dict per path). So modelio reads the `.npy` headers of the members (numpy's own header
parser, which evaluates only a literal dict) to say which case a file is, and refuses both;
it writes no npz weights.

`zipped=False` with `weights_format="npz"` is broken in Keras the same way and one more: Keras
writes the npz bytes under the name `model.weights.h5`; `npz_under_h5_name` recognises that.
"""

import zipfile

from numpy.lib import format as npy_format

from ..errors import UnsupportedError

NPZ_MEMBER = "model.weights.npz"
# Headers read to tell the cases apart; a member list longer than this is not looked at further.
MAX_MEMBERS_INSPECTED = 10_000
ZIP_MAGIC = b"PK\x03\x04"

WHY = ("Keras 3.15.1 stores npz weights as one pickled Python dict per layer, which modelio "
       "never unpickles (running a pickle can run any code); Keras 3.15.1 cannot load this file "
       "either (it opens it with allow_pickle=False). Save the model with the default "
       "weights_format='h5'")


def refuse_npz_weights(handle, source: str) -> None:
    """Raise the UnsupportedError for the npz weights readable from the binary file object
    `handle` (seekable), naming `source` (saying which case it is; a damaged npz too)."""
    try:
        with zipfile.ZipFile(handle) as npz:
            infos = npz.infolist()
            pickled = [info.filename for info in infos[:MAX_MEMBERS_INSPECTED]
                       if _holds_objects(npz, info)]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError,
            NotImplementedError, RuntimeError) as exc:
        raise UnsupportedError(f"{source}: npz weights, and not even a readable npz "
                               f"({str(exc)[:200]}); {WHY}") from exc
    if pickled:
        shown = ", ".join(pickled[:4]) + (", ..." if len(pickled) > 4 else "")
        raise UnsupportedError(f"{source}: npz weights with pickled members ({shown}): {WHY}")
    raise UnsupportedError(f"{source}: npz weights holding plain arrays are not a layout Keras "
                           f"writes or reads (Keras keeps a dict per layer); {WHY}")


def _holds_objects(npz: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    if not info.filename.endswith(".npy"):
        return False
    with npz.open(info) as member:
        version = npy_format.read_magic(member)
        read_header = (npy_format.read_array_header_1_0 if version == (1, 0)
                       else npy_format.read_array_header_2_0)
        _, _, dtype = read_header(member)
    return bool(dtype.hasobject)


def npz_under_h5_name(first_bytes: bytes) -> bool:
    """True for a `model.weights.h5` whose bytes are a zip (Keras's `zipped=False` npz save)."""
    return first_bytes.startswith(ZIP_MAGIC)


def refuse_npz_save() -> None:
    raise UnsupportedError(f"weights_format='npz' is not written: {WHY}")
