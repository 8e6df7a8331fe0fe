"""Screenshots read as the customer's pasted text: accuracy, verdicts, speed and memory.

    nice .venv/bin/python bench/ocr.py [--out results/ocr] [--servers]

1. Renders the phone screens of bench/ocr_screens.yml with Debian's Chromium from HTML
   mock-ups (a messages app, a WeChat chat, a notice in an app), in a CJK font, at a
   phone's resolution (1080x2340: 360x780 CSS pixels at 3x), and photographed-style
   copies of some (turned a few degrees, blurred, darker, JPEG-compressed).
2. Reads every picture through the OCR worker exactly as the Rasa server does
   (server/ocr/client.py: its own process, over its pipe).
3. Character accuracy on the clean screens: the lines read inside the message bubbles
   against the messages' text (NFKC, spaces ignored; 1 - edit distance / length).
4. Verdicts: the text read and the messages pasted as text, each masked, classified by
   the trained model and judged as the assessment action judges them (bench/verdicts.py);
   the share where level and scam type agree.
5. Speed: wall time per picture (the round trip to the worker) and the worker's CPU time,
   median and p95; the worker's memory after all pictures (at least 50).
With --servers: the real servers, some screenshots posted to /chat/image, and the Rasa
server's memory beside its OCR worker's.
The pictures are written to --out (they are the benchmark's own mock-ups).
"""

import argparse
import asyncio
import io
import json
import os
import statistics
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

SCREENS = REPO / "bench" / "ocr_screens.yml"
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 360, "height": 780}
SCALE = 3  # 1080x2340
TARGETS = {"accuracy": 0.95, "same_verdict": 0.95, "median_seconds": 1.5}
ME = "我："

CSS = """
* { box-sizing: border-box; }
body { margin: 0; width: 360px; height: 780px; overflow: hidden;
  font-family: 'WenQuanYi Micro Hei', sans-serif; color: #111; }
.status { height: 26px; display: flex; justify-content: space-between; align-items: center;
  padding: 0 14px; font-size: 13px; font-weight: 600; }
.head { height: 48px; display: flex; align-items: center; padding: 0 10px; font-size: 17px; }
.head .back { font-size: 22px; width: 30px; color: #333; }
.head .title { flex: 1; text-align: center; font-weight: 600; }
.head .more { width: 30px; text-align: right; letter-spacing: 1px; }
.when { text-align: center; font-size: 12px; color: #888; margin: 14px 0 8px; }
.bottom { position: absolute; left: 0; right: 0; bottom: 0; height: 58px; display: flex;
  align-items: center; gap: 8px; padding: 0 10px; }
.bottom .box { flex: 1; height: 38px; border-radius: 6px; background: #fff; }
.bottom .icon { width: 30px; height: 30px; border: 2px solid #555; border-radius: 50%; }
.msg { font-size: 16px; line-height: 1.5; padding: 9px 12px; overflow-wrap: anywhere; }
/* the messages app */
.sms { background: #fff; }
.sms .head { border-bottom: 1px solid #e5e5e5; }
.sms .msg { background: #eef0f3; border-radius: 16px; margin: 8px 60px 8px 14px; }
.sms .bottom { background: #f6f6f6; border-top: 1px solid #e5e5e5; }
.sms .bottom .box { border: 1px solid #ccc; color: #999; font-size: 15px; padding: 8px 12px; }
/* WeChat */
.wechat { background: #ededed; }
.wechat .head { background: #ededed; border-bottom: 1px solid #d6d6d6; }
.row { display: flex; align-items: flex-start; margin: 12px 10px; }
.row.me { flex-direction: row-reverse; }
.avatar { flex: none; width: 40px; height: 40px; border-radius: 5px; background: #6a8fb0; }
.row.me .avatar { background: #c8a165; }
.wechat .msg { max-width: 246px; margin: 0 10px; background: #fff; border-radius: 5px; }
.wechat .row.me .msg { background: #95ec69; }
.wechat .bottom { background: #f7f7f7; border-top: 1px solid #d6d6d6; }
/* a notice in an app */
.notice { background: #f4f5f7; }
.notice .head { background: #fff; border-bottom: 1px solid #e5e5e5; }
.paper { margin: 12px; padding: 6px 4px 14px; background: #fff; border-radius: 8px; }
.paper h1 { font-size: 20px; text-align: center; margin: 12px 8px 4px; }
.paper .date { text-align: center; font-size: 12px; color: #888; margin-bottom: 6px; }
.notice .msg { font-size: 16px; line-height: 1.6; text-indent: 2em; padding: 4px 12px; }
"""


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def screen_html(screen: Dict) -> str:
    """The phone screen of one entry of ocr_screens.yml as an HTML page."""
    kind, title = screen["kind"], _escape(str(screen["title"]))
    status = '<div class="status"><span>9:41</span><span>5G ▮▮▮ 87%</span></div>'
    if kind == "notice":
        head = '<div class="head"><span class="back">‹</span><span class="title">通知详情</span><span class="more">···</span></div>'
        body = "".join(f'<p class="msg" data-i="{i}">{_escape(m)}</p>'
                       for i, m in enumerate(screen["messages"]))
        content = (f'<div class="paper"><h1>{title}</h1><div class="date">2026年3月12日</div>'
                   f"{body}</div>")
        return f"<html><head><style>{CSS}</style></head><body class='notice'>{status}{head}{content}</body></html>"
    head = (f'<div class="head"><span class="back">‹</span><span class="title">{title}</span>'
            '<span class="more">···</span></div>')
    when = '<div class="when">今天 上午10:21</div>'
    if kind == "sms":
        body = "".join(f'<div class="msg" data-i="{i}">{_escape(m)}</div>'
                       for i, m in enumerate(screen["messages"]))
        bottom = '<div class="bottom"><div class="box">短信</div><div class="icon"></div></div>'
        return f"<html><head><style>{CSS}</style></head><body class='sms'>{status}{head}{when}{body}{bottom}</body></html>"
    rows = []
    for i, message in enumerate(screen["messages"]):
        mine = message.startswith(ME)
        text = message[len(ME):] if mine else message
        rows.append(f'<div class="row{" me" if mine else ""}"><div class="avatar"></div>'
                    f'<div class="msg" data-i="{i}">{_escape(text)}</div></div>')
    bottom = '<div class="bottom"><div class="icon"></div><div class="box"></div><div class="icon"></div></div>'
    return f"<html><head><style>{CSS}</style></head><body class='wechat'>{status}{head}{when}{''.join(rows)}{bottom}</body></html>"


def pasted_text(screen: Dict) -> str:
    """The messages as a customer pastes them: one a line, without the "我：" marks."""
    return "\n".join(m[len(ME):] if m.startswith(ME) else m for m in screen["messages"])


@dataclass
class Picture:
    id: str
    label: str
    kind: str
    photographed: bool
    data: bytes
    truth: str  # the messages, joined
    bubbles: List[Tuple[float, float, float, float]] = field(default_factory=list)
    read: Optional[object] = None  # OcrReading
    problem: str = ""
    round_trip: float = 0.0


def render(screens: List[Dict], out: Path) -> List[Picture]:
    from playwright.sync_api import sync_playwright

    pictures = []
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport=PHONE, device_scale_factor=SCALE)
        for screen in screens:
            page.set_content(screen_html(screen))
            page.evaluate("document.fonts.ready")
            rects = page.eval_on_selector_all(
                ".msg", "els => els.map(e => { const r = e.getBoundingClientRect();"
                " return [r.left, r.top, r.right, r.bottom]; })")
            data = page.screenshot(type="png")
            (out / f"{screen['id']}.png").write_bytes(data)
            pictures.append(Picture(
                screen["id"], screen["label"], screen["kind"], False, data, pasted_text(screen),
                [tuple(v * SCALE for v in rect) for rect in rects],
            ))
        browser.close()
    return pictures


def photographed(picture: Picture, angle: float, blur: float, jpeg: int, out: Path) -> Picture:
    """`picture` as a photo of a phone's screen: turned, blurred, darker, JPEG."""
    from PIL import Image, ImageEnhance, ImageFilter

    image = Image.open(io.BytesIO(picture.data)).convert("RGB")
    image = image.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(40, 40, 40))
    image = image.filter(ImageFilter.GaussianBlur(blur))
    image = ImageEnhance.Brightness(image).enhance(0.88)
    image = ImageEnhance.Contrast(image).enhance(0.85)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=jpeg)
    data = buffer.getvalue()
    name = f"{picture.id}-photo"
    (out / f"{name}.jpg").write_bytes(data)
    return Picture(name, picture.label, picture.kind, True, data, picture.truth)


def normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def bubble_text(picture: Picture) -> str:
    """The lines read whose middle is inside a message bubble, in reading order."""
    inside = []
    for left, top, right, bottom, text in picture.read.boxes:
        x, y = (left + right) / 2, (top + bottom) / 2
        if any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in picture.bubbles):
            inside.append(text)
    return "".join(inside)


def accuracy(picture: Picture) -> float:
    truth = normalise(picture.truth)
    read = normalise(bubble_text(picture)) if picture.read else ""
    return max(0.0, 1 - edit_distance(read, truth) / len(truth))


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


async def read_all(pictures: List[Picture], rounds_to: int) -> Dict:
    from server.ocr.client import OcrWorker
    from server.ocr.images import ImageProblem

    worker = OcrWorker()
    started = time.monotonic()
    await worker.start()
    start_seconds = time.monotonic() - started
    ready_rss = worker.ready_rss_mb
    count = max(rounds_to, len(pictures))
    for at in range(count):
        picture = pictures[at % len(pictures)]
        began = time.monotonic()
        try:
            read = await worker.read(picture.data)
        except ImageProblem as problem:
            read, picture.problem = None, problem.kind
        if at < len(pictures):
            picture.read, picture.round_trip = read, time.monotonic() - began
    memory = _memory(worker.pid)
    await worker.stop()
    return {"start_seconds": start_seconds, "ready_rss_mb": ready_rss, "images": count,
            **memory}


def _memory(pid: Optional[int]) -> Dict[str, float]:
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    except (OSError, TypeError):
        pass
    return {"rss_mb": values.get("VmRSS", 0.0), "peak_rss_mb": values.get("VmHWM", 0.0)}


def verdicts(pictures: List[Picture]) -> List[Tuple[Picture, object, object]]:
    """(picture, verdict on the text read, verdict on the pasted text)."""
    from bench.verdicts import judge_all

    pairs = []
    for picture in pictures:
        pairs.append((picture.label, picture.read.text if picture.read else ""))
        pairs.append((picture.label, picture.truth))
    judged = asyncio.run(judge_all(pairs, REPO / "models" / "assistant.tar.gz"))
    return [(picture, judged[2 * i].verdict, judged[2 * i + 1].verdict)
            for i, picture in enumerate(pictures)]


def verdict_key(verdict) -> Tuple:
    return (verdict.level, verdict.scam_type, verdict.number_question is not None)


def servers_check(pictures: List[Picture], workdir: Path) -> Dict:
    """The real servers: screenshots posted to /chat/image; Rasa's and the worker's RSS."""
    import urllib.request
    import uuid

    import psutil

    from tests.e2e.servers import running_assistant

    results = {}
    with running_assistant(workdir) as assistant:
        rasa = psutil.Process(assistant.rasa.pid)
        before = rasa.memory_info().rss / 2**20
        statuses = []
        for picture in pictures[:10]:
            boundary = uuid.uuid4().hex
            body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"sender\"\r\n\r\n"
                    f"bench-{picture.id}\r\n--{boundary}\r\nContent-Disposition: form-data; "
                    f"name=\"image\"; filename=\"s.png\"\r\nContent-Type: image/png\r\n\r\n"
                    ).encode() + picture.data + f"\r\n--{boundary}--\r\n".encode()
            request = urllib.request.Request(
                f"{assistant.rasa_url}/chat/image", data=body, method="POST",
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
            with urllib.request.urlopen(request, timeout=180) as reply:
                statuses.append(reply.status)
                json.loads(reply.read())
        children = rasa.children(recursive=True)
        worker = [c for c in children if "server.ocr.worker" in " ".join(c.cmdline())]
        results = {
            "rasa_rss_mb_before": before,
            "rasa_rss_mb_after": rasa.memory_info().rss / 2**20,
            "worker_rss_mb": worker[0].memory_info().rss / 2**20 if worker else 0.0,
            "posted": len(statuses), "ok": statuses.count(200),
        }
    return results


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "results" / "ocr")
    parser.add_argument("--images", type=int, default=50, help="read at least this many")
    parser.add_argument("--servers", action="store_true")
    args = parser.parse_args(argv)

    spec = yaml.safe_load(SCREENS.read_text(encoding="utf-8"))
    load_before = os.getloadavg()
    began = time.monotonic()
    clean = render(spec["screens"], args.out)
    by_id = {picture.id: picture for picture in clean}
    photos = [photographed(by_id[p["screen"]], p["angle"], p["blur"], p["jpeg"], args.out)
              for p in spec["photographed"]]
    pictures = clean + photos
    print(f"rendered {len(clean)} screens and {len(photos)} photographed copies "
          f"in {time.monotonic() - began:.0f}s -> {args.out}")

    memory = asyncio.run(read_all(pictures, args.images))
    load_after = os.getloadavg()

    accuracies = {p.id: accuracy(p) for p in clean}
    judged = verdicts(pictures)
    same = [verdict_key(read) == verdict_key(pasted) for _, read, pasted in judged]

    def share(items) -> float:
        items = list(items)
        return sum(items) / len(items) if items else 0.0

    phone = [p for p in clean]
    walls = [p.round_trip for p in phone]
    cpus = [p.read.cpu_seconds for p in phone if p.read]
    rows = [
        ("clean phone screenshots (1080x2340)", f"{len(clean)}", ""),
        ("photographed-style copies", f"{len(photos)}", ""),
        ("character accuracy, clean (mean)", f"{statistics.mean(accuracies.values()):.4f}",
         f">= {TARGETS['accuracy']}"),
        ("character accuracy, clean (lowest)", f"{min(accuracies.values()):.4f}", ""),
        ("same verdict as the pasted text, all", f"{share(same):.3f}",
         f">= {TARGETS['same_verdict']}"),
        ("same verdict, clean", f"{share(s for s, p in zip(same, pictures) if not p.photographed):.3f}", ""),
        ("same verdict, photographed", f"{share(s for s, p in zip(same, pictures) if p.photographed):.3f}", ""),
        ("OCR wall time per screenshot, median s", f"{statistics.median(walls):.2f}",
         f"<= {TARGETS['median_seconds']}"),
        ("OCR wall time per screenshot, p95 s", f"{percentile(walls, 0.95):.2f}", ""),
        ("OCR CPU time per screenshot, median s", f"{statistics.median(cpus):.2f}", ""),
        ("OCR CPU time per screenshot, p95 s", f"{percentile(cpus, 0.95):.2f}", ""),
        ("worker start (models loaded, warm) s", f"{memory['start_seconds']:.1f}", ""),
        ("worker RSS when ready, MB", f"{memory['ready_rss_mb']:.0f}", ""),
        (f"worker RSS after {memory['images']} images, MB", f"{memory['rss_mb']:.0f}", ""),
        ("worker peak RSS, MB", f"{memory['peak_rss_mb']:.0f}", ""),
        ("load average before / after (2 cores)",
         f"{load_before[0]:.1f} / {load_after[0]:.1f}", ""),
    ]
    print(f"\n{'figure':<44} {'measured':>12}  target")
    for name, value, target in rows:
        print(f"{name:<44} {value:>12}  {target}")

    print("\nper picture: id, accuracy, wall s, cpu s, verdict read / pasted, label")
    for (picture, read, pasted), agrees in zip(judged, same):
        acc = f"{accuracies[picture.id]:.3f}" if picture.id in accuracies else "  -  "
        cpu = picture.read.cpu_seconds if picture.read else 0.0
        mark = "" if agrees else "  <- differs"
        print(f"  {picture.id:<26} {acc} {picture.round_trip:5.2f} {cpu:5.2f} "
              f"{read.level}/{read.scam_type} | {pasted.level}/{pasted.scam_type} "
              f"({picture.label}){mark}{' ' + picture.problem if picture.problem else ''}")
    worst = sorted(accuracies, key=accuracies.get)[:3]
    for picture_id in worst:
        picture = by_id[picture_id]
        print(f"\nlowest accuracy {picture_id}: read\n  {bubble_text(picture)}\ntruth\n  "
              f"{normalise(picture.truth)}")
    if args.servers:
        print("\nreal servers:", servers_check(clean, args.out / "servers"))


if __name__ == "__main__":
    main()
