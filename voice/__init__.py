"""The voice app: speech-to-text and text-to-speech around chat's assistant."""
