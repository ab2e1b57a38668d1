"""Test data shared by every app's tests that place orders."""

# A real district of China's administrative divisions (orders/data/regions_cn.json).
SHENZHEN_NANSHAN = {"province_code": "44", "city_code": "4403", "district_code": "440305"}
