"""Violent-extremist text detection: normalise, match lexicons, weigh context, explain.

Entry points: `vigil.text.detect.check_text(text)` and `Detector`; `vigil.text.normalize.text_key`.
"""
