"""Reports across facilities, for those who keep them current and those who rely on them."""
