#!/usr/bin/env bash
# Regenerates every file in Samples/ from nothing but Debian's espeak-ng and sox and Python's standard library.
#   apt-get install espeak-ng sox libsox-fmt-all   (not needed to use the committed samples)
# Output is deterministic: espeak-ng's synthesis is, and the sensor data use a fixed seed.
#
#   digits/<word>/<speaker>_<variant>.wav  spoken digits "zero".."nine", 6 synthetic speakers × 3 variants
#                                          (speed, pitch), 8 kHz mono PCM16, trimmed — labels from the folder
#                                          name, speaker from the file-name regex '^([^_]+)_'
#   meeting.flac                           24 s, 2 channels, 16 kHz: read speech on channel 0, a hum with bursts
#                                          of noise on channel 1 — the "longer multichannel recording"
#   sensor/pump.csv                        a 3-channel pump sensor log, one row every 10 s, with a 20-minute gap
#   sensor/pump_windows.json               its labelled anomaly intervals, in NAB's combined_windows.json form
set -euo pipefail
cd "$(dirname "$0")"
rm -rf digits meeting.flac sensor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

words=(zero one two three four five six seven eight nine)
speakers=("ava:en-us+f2" "ben:en-gb+m3" "cal:en-gb-scotland+m1" "dee:en-029+f4" "eli:en-gb-x-rp+m7" "fay:en-us-nyc+f1")
variants=("0:-s 150 -p 40" "1:-s 175 -p 55" "2:-s 200 -p 70")
for w in "${!words[@]}"; do
    word=${words[$w]}
    mkdir -p "digits/$word"
    for sp in "${speakers[@]}"; do
        name=${sp%%:*}; voice=${sp#*:}
        for va in "${variants[@]}"; do
            idx=${va%%:*}; opts=${va#*:}
            # shellcheck disable=SC2086
            espeak-ng -v "$voice" $opts -w "$tmp/raw.wav" "$word"
            # 8 kHz mono PCM16 like FSDD; trim leading/trailing silence below 1 %.
            sox "$tmp/raw.wav" -r 8000 -c 1 -b 16 "digits/$word/${name}_${idx}.wav" \
                silence 1 0.01 1% reverse silence 1 0.01 1% reverse
        done
    done
done

espeak-ng -v en-us+m3 -s 160 -w "$tmp/speech.wav" \
    "Windows of three seconds with twenty percent overlap. The pump was inspected on Monday. \
     Readings were normal until the bearing started to rattle. Seven, four, two, nine."
sox "$tmp/speech.wav" -r 16000 -c 1 -b 16 "$tmp/speech16.wav" pad 0.5 24 trim 0 24
sox -n -r 16000 -c 1 -b 16 "$tmp/hum.wav" synth 24 sine 50 sine 150 vol 0.2
sox -n -r 16000 -c 1 -b 16 "$tmp/noise.wav" synth 24 pinknoise vol 0.3 tremolo 0.25 100
sox -m "$tmp/hum.wav" "$tmp/noise.wav" "$tmp/machine.wav"
sox -M "$tmp/speech16.wav" "$tmp/machine.wav" -c 2 meeting.flac

mkdir -p sensor
python3 - <<'PY'
import json, math, random
from datetime import datetime, timedelta
random.seed(20261123)
start = datetime(2026, 3, 2, 8, 0, 0)
step = timedelta(seconds=10)
rows, t = [], start
anomalies = [(datetime(2026, 3, 2, 10, 30), datetime(2026, 3, 2, 10, 50)),
             (datetime(2026, 3, 2, 13, 5), datetime(2026, 3, 2, 13, 15))]
gap = (datetime(2026, 3, 2, 12, 0), datetime(2026, 3, 2, 12, 20))   # logger offline: no rows
for i in range(6 * 60 * 6 + 1):                                      # 6 hours at 0.1 Hz
    t = start + i * step
    if gap[0] <= t < gap[1]:
        continue
    hours = (t - start).total_seconds() / 3600
    temp = 41.0 + 2.0 * math.sin(2 * math.pi * hours / 3) + random.gauss(0, 0.15)
    vx = 0.8 + 0.1 * math.sin(2 * math.pi * i / 17) + random.gauss(0, 0.05)
    vy = 0.6 + 0.1 * math.cos(2 * math.pi * i / 23) + random.gauss(0, 0.05)
    label = "normal"
    if any(a <= t <= b for a, b in anomalies):
        vx += 0.9 + random.gauss(0, 0.3)
        vy += 0.5 + random.gauss(0, 0.3)
        temp += 3.0
        label = "anomaly"
    rows.append(f"{t:%Y-%m-%d %H:%M:%S},{temp:.3f},{vx:.4f},{vy:.4f},{label}")
with open("sensor/pump.csv", "w") as f:
    f.write("timestamp,temperature,vibration_x,vibration_y,label\n")
    f.write("\n".join(rows) + "\n")
fmt = "%Y-%m-%d %H:%M:%S.%f"
with open("sensor/pump_windows.json", "w") as f:
    json.dump({"pump.csv": [[a.strftime(fmt), b.strftime(fmt)] for a, b in anomalies]}, f, indent=4)
    f.write("\n")
PY
echo "Samples: $(find digits -name '*.wav' | wc -l) digit clips, meeting.flac, sensor/pump.csv"
