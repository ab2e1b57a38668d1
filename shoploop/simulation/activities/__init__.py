"""Activities: each is one behaviour of the world (signing up, founding communities, following…).

An activity first *plans* (draws from the world's random generator, touches no database), then
*plays* each simulated day by calling services through ``world.call``. Adding a behaviour means
adding an ``Activity`` subclass to ``DEFAULT_ACTIVITIES``; nothing else changes.
"""

from shoploop.simulation.activities.bargains import Bargaining, CreateBargainCampaigns
from shoploop.simulation.activities.base import Activity
from shoploop.simulation.activities.chat import Conversations
from shoploop.simulation.activities.communities import (
    CommunityLifecycle,
    FoundCommunities,
    JoinCommunities,
    PromoteModerators,
    ReviewJoinRequests,
)
from shoploop.simulation.activities.content import Attention
from shoploop.simulation.activities.coupons import ClaimCoupons, CreateCoupons
from shoploop.simulation.activities.crowdfunding import Crowdfunding
from shoploop.simulation.activities.crowdtasks import CrowdTasks
from shoploop.simulation.activities.feed import FeedReading
from shoploop.simulation.activities.flash import FlashSales
from shoploop.simulation.activities.groups import GroupBuying
from shoploop.simulation.activities.ideas import CoCreation
from shoploop.simulation.activities.orders import (
    AfterSales,
    CancelOrders,
    ConfirmReceipts,
    ShipOrders,
    Shopping,
)
from shoploop.simulation.activities.payouts import SettleDeadlines, Withdrawals
from shoploop.simulation.activities.people import Blocks, Follows, SignUps
from shoploop.simulation.activities.pickup import PickupPoints
from shoploop.simulation.activities.sharing import Sharing
from shoploop.simulation.activities.shop_follows import ShopFollows
from shoploop.simulation.activities.shops import ApplyForShops, ReviewShops, StockShelves

# Play order within a day (each gets the next slice of the day's clock).
DEFAULT_ACTIVITIES: tuple[type[Activity], ...] = (
    SignUps,
    FoundCommunities,
    JoinCommunities,
    ReviewJoinRequests,
    PromoteModerators,
    Follows,
    Blocks,
    ApplyForShops,
    ReviewShops,
    StockShelves,
    CreateCoupons,
    ClaimCoupons,
    # 团长 open pickup points; shops set their commission (before the day's shopping).
    PickupPoints,
    # Buyers ask shops before buying; communities talk in their rooms.
    Conversations,
    Shopping,
    # Friends bring friends: share links, visits through them, purchases they bring.
    Sharing,
    CancelOrders,
    ShipOrders,
    ConfirmReceipts,
    AfterSales,
    Withdrawals,
    CommunityLifecycle,
    CreateBargainCampaigns,
    Bargaining,
    Crowdfunding,
    FlashSales,
    GroupBuying,
    # People talk in their communities and review what they received (their own random stream).
    Attention,
    # People follow the shops they meet in their communities (their own random stream too).
    ShopFollows,
    # Members propose ideas and wants to the shops of their communities; merchants answer them.
    CoCreation,
    # Merchants post crowdsourcing tasks, members enter, merchants pick winners (own stream too).
    CrowdTasks,
    # People open their home feed (what the fan-out of the day's posts and deals wrote).
    FeedReading,
    # Last: the day's deadlines fire after everything people did that day.
    SettleDeadlines,
)

__all__ = ["DEFAULT_ACTIVITIES", "Activity"]
