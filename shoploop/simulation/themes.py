"""The interest themes of the demo world: tags, community names and product templates.

Themes are listed from most to least popular; the world gives them Zipf-like weights in this order,
so the order itself is a parameter the insights app should recover (露营 biggest, 手作 smallest).
Prices are integer fen.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProductTemplate:
    title: str
    # Option axes, e.g. {"颜色": ("黑", "白")}; a product's SKUs are combinations of these.
    axes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    price_fen: tuple[int, int] = (1_000, 10_000)


@dataclass(frozen=True)
class Theme:
    key: str
    name: str
    tags: tuple[str, ...]
    community_names: tuple[str, ...]
    shop_names: tuple[str, ...]
    category: str  # catalog Product.Category value
    products: tuple[ProductTemplate, ...]


def _p(title: str, low: int, high: int, **axes: tuple[str, ...]) -> ProductTemplate:
    return ProductTemplate(title=title, axes=dict(axes), price_fen=(low, high))


THEMES: tuple[Theme, ...] = (
    Theme(
        key="camping",
        name="露营/户外",
        tags=("露营", "户外", "徒步", "野餐"),
        community_names=(
            "周末露营局",
            "城市边缘露营",
            "山野徒步队",
            "精致露营研究所",
            "野餐俱乐部",
        ),
        shop_names=("山野装备铺", "营地小站", "松林户外", "远行者"),
        category="sports",
        products=(
            _p("蛋卷桌", 8_900, 29_900, 颜色=("原木色", "黑色")),
            _p("折叠露营椅", 6_900, 25_900, 颜色=("卡其", "墨绿", "黑色")),
            _p("双人帐篷", 29_900, 129_900, 颜色=("沙色", "军绿")),
            _p("露营灯", 3_900, 15_900, 款式=("暖光", "白光")),
            _p("速干T恤", 5_900, 12_900, 颜色=("灰", "蓝"), 尺码=("S", "M", "L")),
        ),
    ),
    Theme(
        key="coffee",
        name="咖啡",
        tags=("咖啡", "手冲咖啡", "咖啡豆"),
        community_names=("手冲咖啡同好", "每日一杯", "咖啡豆交换站", "拉花练习生"),
        shop_names=("晨光烘焙坊咖啡", "豆仓", "一滴咖啡", "慢萃"),
        category="food",
        products=(
            _p(
                "埃塞俄比亚耶加雪菲咖啡豆",
                4_900,
                12_900,
                烘焙度=("浅烘", "中烘"),
                规格=("227g", "454g"),
            ),
            _p("手冲壶", 9_900, 39_900, 颜色=("银色", "黑色")),
            _p("挂耳咖啡", 2_900, 8_900, 口味=("花香", "坚果", "巧克力")),
            _p("磨豆机", 19_900, 99_900),
        ),
    ),
    Theme(
        key="baby",
        name="母婴",
        tags=("母婴", "育儿", "宝宝辅食"),
        community_names=("新手爸妈互助", "辅食研究社", "宝宝睡眠群", "二胎家庭"),
        shop_names=("小橙子母婴", "宝贝屋", "暖暖童装"),
        category="kids",
        products=(
            _p("婴儿连体衣", 5_900, 15_900, 尺码=("59", "66", "73", "80")),
            _p("宝宝米粉", 3_900, 9_900, 口味=("原味", "南瓜", "胡萝卜")),
            _p("安抚奶嘴", 2_900, 6_900, 颜色=("粉", "蓝")),
            _p("婴儿推车", 59_900, 299_900),
        ),
    ),
    Theme(
        key="pets",
        name="宠物",
        tags=("宠物", "猫", "狗", "铲屎官"),
        community_names=("猫奴联盟", "狗狗遛弯群", "异宠爱好者", "领养不弃养"),
        shop_names=("喵星补给站", "汪汪杂货铺", "毛孩子之家"),
        category="other",
        products=(
            _p("冻干猫粮", 5_900, 19_900, 口味=("鸡肉", "三文鱼"), 规格=("500g", "1.5kg")),
            _p("猫抓板", 1_900, 8_900),
            _p("狗狗牵引绳", 2_900, 9_900, 颜色=("红", "黑", "蓝"), 尺码=("S", "M", "L")),
            _p("宠物窝", 6_900, 25_900, 尺码=("小号", "大号")),
        ),
    ),
    Theme(
        key="baking",
        name="烘焙",
        tags=("烘焙", "甜品", "面包"),
        community_names=("周末烘焙", "欧包研究所", "甜品打卡", "烤箱新手村"),
        shop_names=("麦香烘焙", "甜蜜工坊", "黄油小屋"),
        category="food",
        products=(
            _p("高筋面粉", 1_900, 4_900, 规格=("1kg", "2.5kg")),
            _p("硅胶模具", 1_500, 5_900, 款式=("圆形", "心形")),
            _p("手工曲奇", 2_900, 7_900, 口味=("原味", "抹茶", "巧克力")),
            _p("电子秤", 3_900, 12_900),
        ),
    ),
    Theme(
        key="reading",
        name="读书",
        tags=("读书", "书单", "文学"),
        community_names=("每月一本书", "夜读会", "科幻读者", "诗歌角"),
        shop_names=("旧时光书店", "纸间", "书虫小铺"),
        category="books",
        products=(
            _p("精装经典小说", 3_900, 12_900, 版本=("平装", "精装")),
            _p("阅读灯", 4_900, 15_900, 颜色=("白", "黑")),
            _p("手账本", 1_900, 5_900, 颜色=("米白", "牛皮")),
            _p("藏书票", 900, 3_900),
        ),
    ),
    Theme(
        key="fitness",
        name="健身",
        tags=("健身", "跑步", "瑜伽"),
        community_names=("晨跑打卡", "瑜伽练习", "力量训练营", "马拉松备赛"),
        shop_names=("燃脂补给", "跑者装备", "力量工坊"),
        category="sports",
        products=(
            _p("瑜伽垫", 4_900, 19_900, 颜色=("紫", "灰", "绿"), 厚度=("6mm", "10mm")),
            _p("蛋白粉", 15_900, 39_900, 口味=("香草", "巧克力")),
            _p("跑步腰包", 2_900, 9_900, 颜色=("黑", "荧光黄")),
            _p("弹力带", 1_900, 6_900, 阻力=("轻", "中", "重")),
        ),
    ),
    Theme(
        key="digital",
        name="数码",
        tags=("数码", "手机", "耳机"),
        community_names=("数码发烧友", "键盘党", "摄影器材交流", "桌搭分享"),
        shop_names=("极客小铺", "数码仓", "键客"),
        category="digital",
        products=(
            _p("机械键盘", 19_900, 89_900, 轴体=("红轴", "茶轴", "青轴")),
            _p("蓝牙耳机", 9_900, 59_900, 颜色=("白", "黑")),
            _p("快充充电器", 4_900, 19_900, 功率=("30W", "65W")),
            _p("手机支架", 1_900, 6_900),
        ),
    ),
    Theme(
        key="tea",
        name="茶",
        tags=("茶", "茶具", "品茶"),
        community_names=("喝茶的人", "普洱茶友会", "茶席美学", "白茶收藏"),
        shop_names=("山中茶舍", "一叶茶庄", "茶语"),
        category="food",
        products=(
            _p("明前龙井", 9_900, 49_900, 规格=("50g", "100g", "250g")),
            _p("白茶饼", 12_900, 59_900, 年份=("2019", "2021")),
            _p("盖碗", 3_900, 19_900, 颜色=("青瓷", "白瓷")),
            _p("便携茶具套装", 8_900, 29_900),
        ),
    ),
    Theme(
        key="hanfu",
        name="汉服",
        tags=("汉服", "传统服饰", "国风"),
        community_names=("汉服同袍", "国风摄影", "簪花研究社"),
        shop_names=("锦绣汉服", "云裳阁", "织梦"),
        category="fashion",
        products=(
            _p("明制马面裙", 19_900, 69_900, 颜色=("朱红", "墨绿", "月白"), 尺码=("S", "M", "L")),
            _p("宋制褙子", 15_900, 49_900, 尺码=("S", "M", "L")),
            _p("发簪", 2_900, 12_900, 款式=("流苏", "点翠")),
        ),
    ),
    Theme(
        key="flowers",
        name="花艺",
        tags=("花艺", "鲜花", "插花"),
        community_names=("每周一束花", "插花入门", "阳台花园"),
        shop_names=("花间集", "小院花事", "绿植铺子"),
        category="home",
        products=(
            _p("鲜花月订", 9_900, 29_900, 频率=("每周", "每两周")),
            _p("玻璃花瓶", 2_900, 12_900, 尺寸=("小", "中", "大")),
            _p("多肉组合盆栽", 1_900, 6_900),
        ),
    ),
    Theme(
        key="handmade",
        name="手作",
        tags=("手作", "DIY", "手工"),
        community_names=("手作集市", "编织小组", "皮具手作"),
        shop_names=("拾光手作", "针线盒", "木作坊"),
        category="handmade",
        products=(
            _p("羊毛毡材料包", 2_900, 8_900, 款式=("小猫", "小熊", "兔子")),
            _p("手工皮革钱包", 9_900, 39_900, 颜色=("棕", "黑")),
            _p("毛线团", 900, 3_900, 颜色=("奶白", "雾蓝", "焦糖")),
        ),
    ),
)
