"""The real payloads of ``../shared/samples`` (see its INDEX.md), embedded byte for byte.

Embedded so the tests run anywhere; `test_mqtt_payloads` checks them against the files when the
shared directory is present.
"""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"

# enerlink/v1_sensors_payload.json
V1_SENSORS = (
    b"{\n"
    b'  "timestamp": 33857692,\n'
    b'  "load": {\n'
    b'    "power": 994.8,\n'
    b'    "current": 240.75,\n'
    b'    "voltage": 4.1212,\n'
    b'    "daily_energy_wh": 10.1163,\n'
    b'    "total_energy_wh": 10.1163,\n'
    b'    "settlement_energy_wh": 10.1163\n'
    b"  },\n"
    b'  "solar": {\n'
    b'    "power": 1275.8,\n'
    b'    "current": 144.47,\n'
    b'    "voltage": 8.813601,\n'
    b'    "generating": true,\n'
    b'    "daily_energy_wh": 15.23495,\n'
    b'    "total_energy_wh": 15.23495,\n'
    b'    "settlement_energy_wh": 15.23495\n'
    b"  },\n"
    b'  "export": {\n'
    b'    "power": 38.6,\n'
    b'    "active": true,\n'
    b'    "current": 9.51,\n'
    b'    "voltage": 4.126,\n'
    b'    "daily_energy_wh": 1.959955,\n'
    b'    "total_energy_wh": 1.959955,\n'
    b'    "settlement_energy_wh": 1.959955\n'
    b"  },\n"
    b'  "import": {\n'
    b'    "power": 0.8,\n'
    b'    "active": false,\n'
    b'    "current": 0.13,\n'
    b'    "voltage": 5.550399,\n'
    b'    "daily_energy_wh": 0.004,\n'
    b'    "total_energy_wh": 0.004,\n'
    b'    "settlement_energy_wh": 0.004\n'
    b"  },\n"
    b'  "battery": {\n'
    b'    "power": 152.2,\n'
    b'    "state": "charging",\n'
    b'    "current": -36.49,\n'
    b'    "voltage": 4.176,\n'
    b'    "daily_energy_wh": 1.793849,\n'
    b'    "total_energy_wh": 1.793849,\n'
    b'    "settlement_energy_wh": 1.793849\n'
    b"  }\n"
    b"}\n"
)

# enerlink/v1_heartbeat_payload.json
V1_HEARTBEAT = (
    b"{\n"
    b'  "qos": 2,\n'
    b'  "status": "alive",\n'
    b'  "uptime": 33215145,\n'
    b'  "free_heap": 226024,\n'
    b'  "timestamp": 33215145\n'
    b"}\n"
)

# enerlink/v1_status_payload.json
V1_STATUS = (
    b"{\n"
    b'  "timestamp": 33860400,\n'
    b'  "pwm": {\n'
    b'    "max_pwm": 255,\n'
    b'    "led_duty": 63\n'
    b"  },\n"
    b'  "grid": {\n'
    b'    "mode": "export",\n'
    b'    "exporting": true,\n'
    b'    "importing": false\n'
    b"  },\n"
    b'  "mqtt": {\n'
    b'    "attempts": 0,\n'
    b'    "connected": true\n'
    b"  },\n"
    b'  "wifi": {\n'
    b'    "ip": "192.168.1.2",\n'
    b'    "rssi": -60,\n'
    b'    "connected": true\n'
    b"  },\n"
    b'  "motor": {\n'
    b'    "duty": 0,\n'
    b'    "max_pwm": 1023,\n'
    b'    "percent": 0,\n'
    b'    "direction": "forward"\n'
    b"  },\n"
    b'  "motor1": {\n'
    b'    "duty": 0,\n'
    b'    "percent": 0,\n'
    b'    "direction": "forward"\n'
    b"  },\n"
    b'  "motor2": {\n'
    b'    "duty": 0,\n'
    b'    "percent": 0,\n'
    b'    "direction": "forward"\n'
    b"  },\n"
    b'  "system": {\n'
    b'    "free_heap": 225968\n'
    b"  }\n"
    b"}\n"
)

# enerlink/seed_mqtt_message_logs.sql, the jsonb of the SENSORS row: hand-written seed data,
# whose "timestamp" is an ISO date where a v1 device sends milliseconds since boot
SEED_SENSORS = (
    "{\n"
    '        "timestamp": "2024-06-09T14:00:00Z",\n'
    '        "export": {"daily_energy_wh": 15240, "total_energy_wh": 487632'
    ', "settlement_energy_wh": 1524},\n'
    '        "import": {"daily_energy_wh": 8760, "total_energy_wh": 298451,'
    ' "settlement_energy_wh": 876},\n'
    '        "battery": {"daily_energy_wh": 4200, "total_energy_wh": 128340'
    ', "settlement_energy_wh": 420, "soc": 85, "power": 250},\n'
    '        "solar": {"daily_energy_wh": 12800, "total_energy_wh": 456789,'
    ' "settlement_energy_wh": 1280, "power": 2500},\n'
    '        "load": {"daily_energy_wh": 9800, "total_energy_wh": 342156, "'
    'settlement_energy_wh": 980, "power": 1250}\n'
    "    }"
)

# enerlink/seed_mqtt_message_logs.sql, the jsonb of the STATUS row ("grid" is a string there)
SEED_STATUS = (
    "{\n"
    '        "timestamp": "2024-06-09T14:05:00Z",\n'
    '        "wifi": {"connected": true, "rssi": -38, "ip": "192.168.1.101"'
    "},\n"
    '        "mqtt": {"connected": true, "broker": "mqtt.enerlink.local"},\n'
    '        "grid": "importing",\n'
    '        "system": {"uptime": 172800, "free_heap": 42000, "temperature"'
    ": 40.2},\n"
    '        "components": {"motor": "idle", "pwm": 0, "relay": "open"}\n'
    "    }"
)

# domestik/TeleInfod_trame_standard.txt: the serial bytes of its first complete frame, STX to ETX
TELEINFOD_STANDARD_FRAME = (
    b"\x02\n"
    b"ADSC\t0123456189012\t5\r\n"
    b"VTIC\t02\tJ\r\n"
    b"DATE\tE241011010531\t\t1\r\n"
    b"NGTF\t   PRODUCTEUR   \t.\r\n"
    b"LTARF\t INDEX NON CONSO\t0\r\n"
    b"EAST\t000000802\tY\r\n"
    b"EASF01\t000000802\t,\r\n"
    b"EASF02\t000000000\t#\r\n"
    b"EASF03\t000000000\t$\r\n"
    b"EASF04\t000000000\t%\r\n"
    b"EASF05\t000000000\t&\r\n"
    b"EASF06\t000000000\t'\r\n"
    b"EASF07\t000000000\t(\r\n"
    b"EASF08\t000000000\t)\r\n"
    b"EASF09\t000000000\t*\r\n"
    b'EASF10\t000000000\t"\r\n'
    b"EASD01\t000000802\t*\r\n"
    b"EASD02\t000000000\t!\r\n"
    b'EASD03\t000000000\t"\r\n'
    b"EASD04\t000000000\t#\r\n"
    b"EAIT\t007472722\t$\r\n"
    b"ERQ1\t000000000\t;\r\n"
    b"ERQ2\t000021342\tH\r\n"
    b"ERQ3\t001083341\tQ\r\n"
    b"ERQ4\t000003925\tQ\r\n"
    b"IRMS1\t000\t.\r\n"
    b"URMS1\t239\tH\r\n"
    b"PREF\t01\t@\r\n"
    b"PCOUP\t01\tZ\r\n"
    b"SINSTS\t00013\tJ\r\n"
    b"SMAXSN\tE241011000639\t00008\t-\r\n"
    b"SMAXSN-1\tE241010184116\t00136\tO\r\n"
    b"SINSTI\t00000\t<\r\n"
    b"SMAXIN\tE241011000000\t00000\tI\r\n"
    b"SMAXIN-1\tE241010131930\t01592\tH\r\n"
    b"UMOY1\tE241011010000\t239\t#\r\n"
    b"STGE\t003A0101\t;\r\n"
    b"MSG1\tPAS DE          MESSAGE         \t<\r\n"
    b"PRM\t19528654014760\t;\r\n"
    b"RELAIS\t000\tB\r\n"
    b"NTARF\t01\tN\r\n"
    b"NJOURF\t00\t&\r\n"
    b"NJOURF+1\t00\tB\r\n"
    b"PJOURF+1\t00008001 NONUTILE NONUTILE NONUTILE NONUTILE NONUTILE NONUTIL"
    b"E NONUTILE NONUTILE NONUTILE NONUTILE\t9\r\x03"
)

# domestik/TeleInfod_trame_historique.txt: the serial bytes of its first complete frame
TELEINFOD_HISTORIC_FRAME = (
    b"\x02\n"
    b"ADCO 0123456789012 5\r\n"
    b"OPTARIF HC.. <\r\n"
    b"ISOUSC 60 <\r\n"
    b"HCHC 024243439 %\r\n"
    b"HCHP 022032205 #\r\n"
    b"PTEC HP..  \r\n"
    b"IINST 002 Y\r\n"
    b"IMAX 090 H\r\n"
    b"PAPP 00510 '\r\n"
    b"HHPHC A ,\r\n"
    b"MOTDETAT 000000 B\r\x03"
)

SAMPLE_FILES: dict[str, str] = {
    "V1_SENSORS": "enerlink/v1_sensors_payload.json",
    "V1_HEARTBEAT": "enerlink/v1_heartbeat_payload.json",
    "V1_STATUS": "enerlink/v1_status_payload.json",
    "SEED_SENSORS": "enerlink/seed_mqtt_message_logs.sql",
    "SEED_STATUS": "enerlink/seed_mqtt_message_logs.sql",
    "TELEINFOD_STANDARD_FRAME": "domestik/TeleInfod_trame_standard.txt",
    "TELEINFOD_HISTORIC_FRAME": "domestik/TeleInfod_trame_historique.txt",
}
"""Where each embedded sample is (it is a contiguous part of the file)."""
