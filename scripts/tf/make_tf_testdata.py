"""Make the TensorFlow frontend's test models: testdata/tf/*.pb, testdata/tf/*.savedmodel/ and
their recorded inputs and outputs (<name>.io.npz: in_<input>, out_<k>), with TensorFlow itself.

Each model is a tf.function over seeded random weights, frozen with
convert_variables_to_constants_v2 (functional control flow kept: lower_control_flow=False, so
While/If stay functional), and run by TensorFlow on seeded random inputs. Together they cover
the op table of crates/ferry-tf/src/ops (see testdata/tf/README.md). CI has no TensorFlow: the
files are committed and the Rust tests (crates/ferry-tf/tests/convert.rs) read them.

    py="$(scripts/tf/venv.sh)"
    "$py" scripts/tf/make_tf_testdata.py
"""

import json
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.framework.convert_to_constants import (  # noqa: E402
    convert_variables_to_constants_v2,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(REPO, "testdata", "tf")
rng = np.random.default_rng(20261126)


def w(*shape, scale=0.3):
    return tf.constant(rng.standard_normal(shape).astype(np.float32) * scale)


def freeze(fn, specs, name, feeds):
    concrete = fn.get_concrete_function(*specs)
    frozen = convert_variables_to_constants_v2(concrete, lower_control_flow=False)
    gd = frozen.graph.as_graph_def()
    with open(os.path.join(OUT, name + ".pb"), "wb") as f:
        f.write(gd.SerializeToString())
    outs = fn(*[tf.constant(v) for v in feeds.values()])
    if not isinstance(outs, (list, tuple)):
        outs = [outs]
    record = {f"in_{k}": v for k, v in feeds.items()}
    record.update({f"out_{i}": o.numpy() for i, o in enumerate(outs)})
    np.savez(os.path.join(OUT, name + ".io.npz"), **record)
    ops = sorted({n.op for n in gd.node} | {n.op for f in gd.library.function for n in f.node_def})
    return {"inputs": list(feeds), "outputs": len(outs), "ops": ops}


def conv_net():
    k1, b1 = w(3, 3, 4, 8), w(8)
    kd = w(3, 3, 8, 2)
    scale, offset, mean, var = w(16) + 1.0, w(16), w(16), tf.abs(w(16)) + 0.5
    kt = w(3, 3, 16, 4)
    k3 = w(1, 1, 12, 6)

    @tf.function
    def f(x):
        y = tf.nn.conv2d(x, k1, strides=2, padding="SAME")
        y = tf.nn.bias_add(y, b1)
        y = tf.nn.relu6(y)
        y = tf.nn.depthwise_conv2d(y, kd, strides=[1, 1, 1, 1], padding="SAME")
        y, _, _, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=y, scale=scale, offset=offset, mean=mean, variance=var, epsilon=1e-3,
            is_training=False)
        y = tf.nn.elu(y)
        a = tf.nn.max_pool2d(y, 2, 2, "VALID")
        b = tf.nn.avg_pool2d(y, 3, 2, "SAME")
        y = tf.concat([a, b], axis=3) * 0.5
        y = tf.nn.conv2d_transpose(y[..., :4], kt, output_shape=[1, 8, 8, 16], strides=2,
                                   padding="SAME")
        y = tf.nn.selu(y)
        y = tf.pad(y, [[0, 0], [1, 1], [2, 0], [0, 0]])
        y = tf.pad(y, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
        y = tf.nn.depth_to_space(y, 2)
        y = tf.concat([y[:, ::2, ::2, :], tf.nn.space_to_depth(y, 2)[..., :8]], axis=-1)
        y = tf.nn.conv2d(y, k3, strides=1, padding="VALID", dilations=1)
        y = tf.nn.leaky_relu(y, 0.1)
        return tf.reduce_mean(y, axis=[1, 2]), tf.reduce_max(y, axis=[1, 2], keepdims=True)

    x = rng.standard_normal((1, 16, 16, 4)).astype(np.float32)
    return freeze(f, [tf.TensorSpec([1, 16, 16, 4], tf.float32)], "conv_net", {"x": x})


def tensor_ops():
    wq = w(8, 8)

    @tf.function
    def f(x, idx):
        a = tf.reshape(x, [2, 3, 8])
        b = tf.transpose(a, [1, 0, 2])
        s1, s2 = tf.split(b, 2, axis=2)
        s3, s4, s5 = tf.split(a, [2, -1, 1], axis=1)
        p = tf.stack([s1[0], s2[1]], axis=1)
        u = tf.unstack(p, axis=0)
        c = tf.concat([s3, s5], axis=1)
        e = tf.expand_dims(c, -1)
        sq = tf.squeeze(e, [3])
        sl = tf.slice(a, [0, 1, 2], [2, -1, 4])
        st = a[:, ::-1, 1:7:2]
        st2 = a[1, ..., tf.newaxis, 3]
        st3 = a[..., -1]
        g = tf.gather(a, idx, axis=2)
        t = tf.tile(sl, [1, 2, 1])
        mm = tf.matmul(tf.reshape(a, [6, 8]), wq, transpose_b=True)
        bm = tf.linalg.matmul(a, a, adjoint_b=True)
        es = tf.einsum("bij,bkj->bik", a, a)
        sm = tf.nn.softmax(mm) + tf.nn.sigmoid(mm) * tf.nn.gelu(mm, approximate=False)
        shp = tf.cast(tf.shape(a), tf.float32)
        fl = tf.fill([2, 2], 1.5) + tf.cast(tf.range(0, 4, 2), tf.float32)
        red = (tf.reduce_sum(a, 2) + tf.reduce_min(a, 2) + tf.reduce_prod(a[:, :, :2], 2)
               + tf.cast(tf.argmax(a, axis=2), tf.float32))
        sel = tf.where(a > 0.0, a, tf.zeros_like(a))
        m = (tf.maximum(a, 0.1) - tf.minimum(a, -0.1) + tf.math.squared_difference(a, 0.5)
             + tf.math.floordiv(a, 0.7) + tf.math.floormod(a, 0.7) + tf.pow(tf.abs(a), 1.5)
             + tf.math.rsqrt(tf.abs(a) + 1.0) + tf.square(a) + tf.math.log1p(tf.abs(a))
             + tf.math.erf(a) + tf.tanh(a) + tf.exp(-tf.abs(a)) + tf.sqrt(tf.abs(a)))
        return (u[1], sq, st, st2, st3, g, t, sm, shp, fl, red, sel, m, bm, es)

    x = rng.standard_normal((6, 8)).astype(np.float32)
    idx = np.array([3, 0, 7], dtype=np.int32)
    specs = [tf.TensorSpec([6, 8], tf.float32), tf.TensorSpec([3], tf.int32)]
    return freeze(f, specs, "tensor_ops", {"x": x, "idx": idx})


def control_flow():
    wl = w(4, 4)

    @tf.function
    def f(x, n):
        def body(i, h):
            return i + 1, tf.tanh(tf.matmul(h, wl) + tf.cast(i, tf.float32) * 0.1)

        _, h = tf.while_loop(lambda i, h: i < n, body, [tf.constant(0), x])
        y = tf.cond(tf.reduce_sum(h) > 0.0, lambda: h * 2.0, lambda: h - 1.0)
        return y

    x = rng.standard_normal((2, 4)).astype(np.float32)
    specs = [tf.TensorSpec([2, 4], tf.float32), tf.TensorSpec([], tf.int32)]
    return freeze(f, specs, "control_flow", {"x": x, "n": np.array(3, dtype=np.int32)})


def resize():
    @tf.function
    def f(x):
        a = tf.compat.v1.image.resize_bilinear(x, [7, 5], half_pixel_centers=True)
        b = tf.compat.v1.image.resize_bilinear(x, [8, 8], align_corners=True)
        c = tf.compat.v1.image.resize_nearest_neighbor(x, [8, 6])
        d = tf.compat.v1.image.resize_nearest_neighbor(x, [6, 9], half_pixel_centers=True)
        e = tf.compat.v1.image.resize_nearest_neighbor(x, [7, 7], align_corners=True)
        return a, b, c, d, e

    x = rng.standard_normal((1, 4, 3, 2)).astype(np.float32)
    return freeze(f, [tf.TensorSpec([1, 4, 3, 2], tf.float32)], "resize", {"x": x})


def keras_rnn():
    """A Keras LSTM and GRU saved as a SavedModel: functional While loops over TensorLists."""
    import keras

    keras.utils.set_random_seed(7)
    model = keras.Sequential([
        keras.Input((6, 5)),
        keras.layers.LSTM(8, return_sequences=True),
        keras.layers.GRU(4),
        keras.layers.Dense(3),
    ])
    m = tf.Module()
    m.model = model
    m.serve = tf.function(lambda x: {"y": model(x)},
                          input_signature=[tf.TensorSpec([2, 6, 5], tf.float32, name="x")])
    path = os.path.join(OUT, "keras_rnn.savedmodel")
    shutil.rmtree(path, ignore_errors=True)
    tf.saved_model.save(m, path, signatures={"serving_default": m.serve})
    x = rng.standard_normal((2, 6, 5)).astype(np.float32)
    np.savez(os.path.join(OUT, "keras_rnn.io.npz"), in_x=x, out_0=model(x).numpy())
    return {"inputs": ["x"], "outputs": 1, "ops": ["(SavedModel: While, TensorList*)"]}


def saved_model():
    class M(tf.Module):
        def __init__(self):
            self.k = tf.Variable(w(3, 3, 3, 4))
            self.b = tf.Variable(w(4))
            self.d = tf.Variable(w(4, 5))

        @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 3], tf.float32)])
        def __call__(self, image):
            y = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(image, self.k, 1, "SAME"), self.b))
            return {"logits": tf.matmul(tf.reduce_mean(y, [1, 2]), self.d)}

    m = M()
    path = os.path.join(OUT, "small_module.savedmodel")
    shutil.rmtree(path, ignore_errors=True)
    tf.saved_model.save(m, path, signatures={"serving_default": m.__call__})
    x = rng.standard_normal((1, 8, 8, 3)).astype(np.float32)
    out = m(tf.constant(x))["logits"].numpy()
    np.savez(os.path.join(OUT, "small_module.io.npz"), in_image=x, out_0=out)
    return {"inputs": ["image"], "outputs": 1, "ops": ["(SavedModel)"]}


def index_ops():
    @tf.function
    def f(x, labels):
        clipped = tf.clip_by_value(x, -0.5, 0.8)
        cs = tf.math.cumsum(x, axis=1, exclusive=True, reverse=True)
        oh = tf.one_hot(labels, 5, on_value=2.0, off_value=-1.0)
        values, indices = tf.math.top_k(x, k=3)
        rev = tf.reverse(x, axis=[0, 1])
        rint = tf.math.rint(x * 3.0)
        fin = tf.cast(tf.math.is_finite(x / (x - x[0:1, 0:1])), tf.float32)
        coords = tf.where(x > 0.5)
        return clipped, cs, oh, values, indices, rev, rint, fin, coords

    x = rng.standard_normal((3, 6)).astype(np.float32)
    labels = np.array([4, 0, 2], dtype=np.int32)
    specs = [tf.TensorSpec([3, 6], tf.float32), tf.TensorSpec([3], tf.int32)]
    return freeze(f, specs, "index_ops", {"x": x, "labels": labels})


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {
        "conv_net": conv_net(),
        "tensor_ops": tensor_ops(),
        "control_flow": control_flow(),
        "resize": resize(),
        "keras_rnn.savedmodel": keras_rnn(),
        "small_module.savedmodel": saved_model(),
        "index_ops": index_ops(),
        "_tensorflow": tf.__version__,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
