from ninja import Router

router = Router(tags=["deals: bargains"])
