"""/api/v1/deals/…: one router per deal kind."""

from ninja import Router

from shoploop.deals.bargains.api import router as bargains_router
from shoploop.deals.crowdfunding.api import router as crowdfunding_router
from shoploop.deals.flash.api import router as flash_router
from shoploop.deals.groups.api import router as groups_router

router = Router()
router.add_router("/groups", groups_router)
router.add_router("/bargains", bargains_router)
router.add_router("/crowdfunding", crowdfunding_router)
router.add_router("/flash-sales", flash_router)
